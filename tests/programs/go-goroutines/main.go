// Goroutines on the Go runtime's threads: a WaitGroup of hashing workers,
// a channel fed by a goroutine that sleeps between sends. Built with
// Debian's golang-go (CGO_ENABLED=0: static) by tests/integration/kernel_programs.sh,
// which compares its output in the carve kernel with the host's.
package main

import (
	"crypto/sha256"
	"fmt"
	"os"
	"runtime"
	"sync"
	"time"
)

func main() {
	var wg sync.WaitGroup
	results := make([]string, 8)
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			h := sha256.New()
			for k := 0; k < 20000; k++ {
				fmt.Fprintf(h, "%d-%d", i, k)
			}
			results[i] = fmt.Sprintf("%x", h.Sum(nil))[:16]
		}(i)
	}
	wg.Wait()
	for i, r := range results {
		fmt.Println("goroutine", i, r)
	}
	ch := make(chan int)
	go func() {
		for i := 0; i < 5; i++ {
			time.Sleep(10 * time.Millisecond)
			ch <- i
		}
		close(ch)
	}()
	sum := 0
	for v := range ch {
		sum += v
	}
	fmt.Println("channel sum", sum, "GOMAXPROCS", runtime.GOMAXPROCS(0) > 0)
	os.Exit(0)
}
