package main

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// clockTicks is USER_HZ, the unit of utime and stime in /proc/<pid>/stat;
// 100 on every Linux architecture Go supports except where the kernel was
// configured otherwise (the script passes `getconf CLK_TCK`).
var clockTicks = 100.0

// procSample is what /proc tells about the collector at one moment.
type procSample struct {
	cpuSeconds float64 // utime + stime of all threads
	rssBytes   int64   // VmRSS
	hwmBytes   int64   // VmHWM: peak resident set size
}

// readProc reads /proc/<pid>/stat and /proc/<pid>/status.
func readProc(pid int) (procSample, error) {
	var s procSample
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return s, err
	}
	if s.cpuSeconds, err = parseStatCPU(stat); err != nil {
		return s, err
	}
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return s, err
	}
	s.rssBytes = statusKB(status, "VmRSS:") * 1024
	s.hwmBytes = statusKB(status, "VmHWM:") * 1024
	return s, nil
}

// parseStatCPU returns utime+stime in seconds. The command name (field 2)
// is in parentheses and may hold spaces, so fields are counted after the
// last ')': utime and stime are fields 14 and 15 of the line.
func parseStatCPU(stat []byte) (float64, error) {
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, fmt.Errorf("malformed stat: %q", stat)
	}
	f := strings.Fields(string(stat[i+1:]))
	// f[0] is field 3 (state): utime is f[11], stime f[12].
	if len(f) < 13 {
		return 0, fmt.Errorf("short stat: %q", stat)
	}
	ut, err1 := strconv.ParseUint(f[11], 10, 64)
	st, err2 := strconv.ParseUint(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("bad utime/stime in %q", stat)
	}
	return float64(ut+st) / clockTicks, nil
}

// statusKB returns the value in kB of a /proc/<pid>/status line.
func statusKB(status []byte, key string) int64 {
	for _, line := range strings.Split(string(status), "\n") {
		if rest, ok := strings.CutPrefix(line, key); ok {
			f := strings.Fields(rest)
			if len(f) > 0 {
				v, _ := strconv.ParseInt(f[0], 10, 64)
				return v
			}
		}
	}
	return 0
}
