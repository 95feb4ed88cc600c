//go:build !linux

package analytics

type savedSignals struct{}

func saveSignals() savedSignals { return savedSignals{} }

func (savedSignals) restore() {}
