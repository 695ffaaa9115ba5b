/* Markers and code of known cost for the instruction counter (count_instructions.py).
 *
 * The counter counts the instructions QEMU executes after memplan_probe_begin
 * returns and before memplan_probe_end is entered; both are one `bx lr`, so
 * nothing of theirs is counted. The known functions let the counter check
 * itself on every run: their counts are fixed by this file. Thumb-1 only, so
 * every core from Cortex-M0 up runs the same instructions. */
  .syntax unified
  .thumb
  .text

  .global memplan_probe_begin
  .type memplan_probe_begin, %function
  .thumb_func
memplan_probe_begin:
  bx lr
  .size memplan_probe_begin, . - memplan_probe_begin

  .global memplan_probe_end
  .type memplan_probe_end, %function
  .thumb_func
memplan_probe_end:
  bx lr
  .size memplan_probe_end, . - memplan_probe_end

/* 22 instructions: movs, ten times (subs, bne), bx. Nothing masked. */
  .global memplan_known_loop
  .type memplan_known_loop, %function
  .thumb_func
memplan_known_loop:
  movs r0, #10
1:
  subs r0, r0, #1
  bne 1b
  bx lr
  .size memplan_known_loop, . - memplan_known_loop

/* 7 instructions; interrupts masked for 5 of them, from cpsid to the msr that
 * restores PRIMASK (both counted). */
  .global memplan_known_masked
  .type memplan_known_masked, %function
  .thumb_func
memplan_known_masked:
  mrs r1, primask
  cpsid i
  nop
  nop
  nop
  msr primask, r1
  bx lr
  .size memplan_known_masked, . - memplan_known_masked
