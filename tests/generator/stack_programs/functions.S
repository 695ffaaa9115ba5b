@ Functions without a call-graph file, as a C library's assembly has them; test_stack_bound.py knows each frame.
  .syntax unified
  .thumb
  .text

  .global asm_small           @ frame 20 + 16 = 36, calls leaf
  .type asm_small, %function
asm_small:
  push {r4-r7, lr}
  sub sp, #16
  bl leaf
  add sp, #16
  pop {r4-r7, pc}
  .size asm_small, . - asm_small

  .global asm_frames          @ frame 36 + 16 + 4096 + 1000 = 5148
  .type asm_frames, %function
asm_frames:
  push.w {r4-r11, lr}
  vpush {d8-d9}
  sub.w sp, sp, #4096
  subw sp, sp, #1000
  addw sp, sp, #1000
  add.w sp, sp, #4096
  vpop {d8-d9}
  pop.w {r4-r11, pc}
  .size asm_frames, . - asm_frames

  .global asm_tail            @ frame 8, tail-calls mid
  .type asm_tail, %function
asm_tail:
  push {r3, lr}
  pop {r3, lr}
  b.w mid
  .size asm_tail, . - asm_tail

  .global asm_dynamic         @ moves SP by a register
  .type asm_dynamic, %function
asm_dynamic:
  push {r7, lr}
  sub.w sp, sp, r0
  mov sp, r7
  pop {r7, pc}
  .size asm_dynamic, . - asm_dynamic

  .global asm_indirect        @ calls through a register
  .type asm_indirect, %function
asm_indirect:
  push {r4, lr}
  blx r0
  pop {r4, pc}
  .size asm_indirect, . - asm_indirect
