//go:build !linux

package procs

// KeepSysmonAwake does nothing off Linux, where it was not measured.
func KeepSysmonAwake() {}
