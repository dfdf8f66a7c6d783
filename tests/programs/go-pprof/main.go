// Go's CPU profiler (runtime/pprof.StartCPUProfile) on the runtime's
// threads: four goroutines spin until the process has used a second of CPU
// time while it samples them, by
// SIGPROF from setitimer(ITIMER_PROF) and (since Go 1.18) from a
// timer_create(CLOCK_THREAD_CPUTIME_ID, SIGEV_THREAD_ID) per thread. The
// profile, gzip'd protobuf, is decoded here with the standard library
// alone: it must hold samples, most of them in main.spin. Built with
// Debian's golang-go (CGO_ENABLED=0: static); kernel_programs.sh compares
// its output in the carve kernel with the host's, all but the last line
// (the counts, which vary).
package main

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

var errBad = errors.New("malformed protobuf")

// fields calls f with each field of a protobuf message: its number, its
// wire type, and its value (varint, fixed) or bytes (length-delimited).
func fields(b []byte, f func(num, wt int, v uint64, data []byte)) error {
	for len(b) > 0 {
		key, n := binary.Uvarint(b)
		if n <= 0 {
			return errBad
		}
		b = b[n:]
		num, wt := int(key>>3), int(key&7)
		switch wt {
		case 0:
			v, n := binary.Uvarint(b)
			if n <= 0 {
				return errBad
			}
			b = b[n:]
			f(num, wt, v, nil)
		case 1:
			if len(b) < 8 {
				return errBad
			}
			f(num, wt, binary.LittleEndian.Uint64(b), nil)
			b = b[8:]
		case 2:
			l, n := binary.Uvarint(b)
			if n <= 0 || l > uint64(len(b)-n) {
				return errBad
			}
			f(num, wt, 0, b[n:n+int(l)])
			b = b[n+int(l):]
		case 5:
			if len(b) < 4 {
				return errBad
			}
			f(num, wt, uint64(binary.LittleEndian.Uint32(b)), nil)
			b = b[4:]
		default:
			return errBad
		}
	}
	return nil
}

// ints: a repeated integer field's values, packed or one by one.
func ints(wt int, v uint64, data []byte) []uint64 {
	if wt == 0 {
		return []uint64{v}
	}
	var out []uint64
	for len(data) > 0 {
		x, n := binary.Uvarint(data)
		if n <= 0 {
			break
		}
		out = append(out, x)
		data = data[n:]
	}
	return out
}

type sample struct {
	locs  []uint64
	count uint64 // value[0]: samples/count
}

// count returns the profile's samples and those with fn on their stack,
// from profile.proto's Profile: sample 2 (location_id 1, value 2),
// location 4 (id 1, line 4: function_id 1), function 5 (id 1, name 2),
// string_table 6.
func count(raw []byte, fn string) (total, in uint64, err error) {
	var samples []sample
	var strs []string
	locFuncs := map[uint64][]uint64{}
	funcName := map[uint64]uint64{}
	err = fields(raw, func(num, wt int, _ uint64, data []byte) {
		switch num {
		case 2:
			var s sample
			fields(data, func(n, w int, v uint64, d []byte) {
				switch n {
				case 1:
					s.locs = append(s.locs, ints(w, v, d)...)
				case 2:
					if vals := ints(w, v, d); s.count == 0 && len(vals) > 0 {
						s.count = vals[0]
					}
				}
			})
			samples = append(samples, s)
		case 4:
			var id uint64
			var fns []uint64
			fields(data, func(n, w int, v uint64, d []byte) {
				switch n {
				case 1:
					id = v
				case 4:
					fields(d, func(n2, w2 int, v2 uint64, _ []byte) {
						if n2 == 1 {
							fns = append(fns, v2)
						}
					})
				}
			})
			locFuncs[id] = fns
		case 5:
			var id, name uint64
			fields(data, func(n, w int, v uint64, _ []byte) {
				switch n {
				case 1:
					id = v
				case 2:
					name = v
				}
			})
			funcName[id] = name
		case 6:
			strs = append(strs, string(data))
		}
	})
	for _, s := range samples {
		total += s.count
		hit := false
		for _, l := range s.locs {
			for _, f := range locFuncs[l] {
				if n := funcName[f]; n < uint64(len(strs)) && strs[n] == fn {
					hit = true
				}
			}
		}
		if hit {
			in += s.count
		}
	}
	return total, in, err
}

var sink [4]uint64
var done atomic.Bool

//go:noinline
func spin(i int) {
	x := uint64(i + 1)
	for !done.Load() {
		for k := 0; k < 10000; k++ {
			x = x*6364136223846793005 + 1442695040888963407
		}
	}
	sink[i] = x
}

// cpuTime is the process's user and system time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func main() {
	var prof bytes.Buffer
	if err := pprof.StartCPUProfile(&prof); err != nil {
		fmt.Println("cpu profile: cannot start:", err)
		os.Exit(1)
	}
	var wg sync.WaitGroup
	start, limit := cpuTime(), time.Now().Add(20*time.Second)
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			spin(i)
		}(i)
	}
	for cpuTime()-start < time.Second && time.Now().Before(limit) {
		time.Sleep(10 * time.Millisecond)
	}
	done.Store(true)
	wg.Wait()
	pprof.StopCPUProfile()
	fmt.Println("cpu profile: 4 goroutines spun for a second of CPU time")
	zr, err := gzip.NewReader(&prof)
	var raw []byte
	if err == nil {
		raw, err = io.ReadAll(zr)
	}
	var total, in uint64
	if err == nil {
		total, in, err = count(raw, "main.spin")
	}
	if err != nil {
		fmt.Println("cpu profile: cannot read it:", err)
		os.Exit(1)
	}
	// 100 samples a second of CPU time.
	enough, most := total >= 25, in*2 > total
	fmt.Println("cpu profile: at least 25 samples:", enough)
	fmt.Println("cpu profile: most of them in main.spin:", most)
	fmt.Printf("samples: %d, %d in main.spin\n", total, in)
	if !enough || !most {
		os.Exit(1)
	}
}
