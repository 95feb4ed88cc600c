package analytics

import (
	"syscall"
	"unsafe"
)

// chdb_connect installs ClickHouse's crash handlers for the fault signals,
// over the Go runtime's. With them, a nil dereference in Go code is no
// longer a panic: ClickHouse's handler takes it for a crash of its own,
// stalls for minutes, then the process dies of SIGSEGV. OpenChDB puts the
// Go runtime's handlers back once the engine has started. A fault in the
// engine's own threads still ends the process, as it would anyway.
var faultSignals = []syscall.Signal{
	syscall.SIGILL, syscall.SIGTRAP, syscall.SIGABRT, syscall.SIGBUS,
	syscall.SIGFPE, syscall.SIGSEGV, syscall.SIGSYS, syscall.SIGTSTP,
}

// kernelSigaction holds a struct sigaction as rt_sigaction reads and
// writes it (32 bytes on amd64 and arm64); it is only copied back.
type kernelSigaction [4]uint64

type savedSignals map[syscall.Signal]kernelSigaction

func saveSignals() savedSignals {
	saved := savedSignals{}
	for _, s := range faultSignals {
		var act kernelSigaction
		if _, _, errno := syscall.RawSyscall6(syscall.SYS_RT_SIGACTION, uintptr(s), 0, uintptr(unsafe.Pointer(&act)), 8, 0, 0); errno == 0 {
			saved[s] = act
		}
	}
	return saved
}

func (saved savedSignals) restore() {
	for s, act := range saved {
		syscall.RawSyscall6(syscall.SYS_RT_SIGACTION, uintptr(s), uintptr(unsafe.Pointer(&act)), 0, 8, 0, 0)
	}
}
