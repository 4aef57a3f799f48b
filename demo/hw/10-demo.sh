#!/usr/bin/env bash
# demo/hw/10-demo.sh: runs demo/demo.sh inside the hardware lane's guest with a real VF.
. "$HW_ROOT/test/hw/lib.sh"

t_demo() {
	hw_restore_at_exit 0
	DEMO_VF=$(hw_vf_pci 0) DEMO_PF=$HW_PF bash "$HW_ROOT/demo/demo.sh"
}

run_tests
