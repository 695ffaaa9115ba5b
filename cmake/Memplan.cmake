# memplan_add_layout() and memplan_check_elf(). Owner: build integration (issue 5).
