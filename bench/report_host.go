package bench

import (
	"os"
	"strconv"
	"strings"
)

// Host is the machine section of results.json: Machine plus what a reader
// needs to judge wall-clock figures on a shared VM (memory, and the load
// average when the run started and ended).
type Host struct {
	Machine
	MemoryBytes  uint64     `json:"memory_bytes,omitempty"`
	LoadAvgStart [3]float64 `json:"load_average_start"`
	LoadAvgEnd   [3]float64 `json:"load_average_end"`
}

// ThisHost describes the running machine now.
func ThisHost() Host {
	return Host{Machine: ThisMachine(), MemoryBytes: memTotal(), LoadAvgStart: loadAverage()}
}

// loadAverage reads the 1, 5 and 15 minute load averages (zeros where
// /proc is missing).
func loadAverage() [3]float64 {
	var out [3]float64
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return out
	}
	for i, f := range strings.Fields(string(b)) {
		if i == 3 {
			break
		}
		out[i], _ = strconv.ParseFloat(f, 64)
	}
	return out
}

// memTotal reads MemTotal from /proc/meminfo in bytes (0 where missing).
func memTotal() uint64 {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "MemTotal:" {
			kb, _ := strconv.ParseUint(f[1], 10, 64)
			return kb * 1024
		}
	}
	return 0
}
