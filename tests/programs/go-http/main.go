// An HTTP server in Go (net/http: a goroutine per connection, the runtime's
// netpoller on epoll) on 127.0.0.1:8080 inside the enclave, reached from the
// host through tests/kernel-progs/vsockrelay.c, the vsock proxy in front of
// it, as Nitro applications are usually set up. Built by Debian's golang-go
// (CGO_ENABLED=0). tests/integration/kernel_programs.sh drives it.
package main

import (
	"crypto/sha256"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync/atomic"
)

func main() {
	var served int64
	mux := http.NewServeMux()
	mux.HandleFunc("/hello", func(w http.ResponseWriter, r *http.Request) {
		n := atomic.AddInt64(&served, 1)
		fmt.Fprintf(w, "hello from go in the enclave (request %d)\n", n)
	})
	mux.HandleFunc("/sum", func(w http.ResponseWriter, r *http.Request) {
		atomic.AddInt64(&served, 1)
		n, err := strconv.Atoi(r.URL.Query().Get("n"))
		if err != nil || n < 0 {
			http.Error(w, "bad n", http.StatusBadRequest)
			return
		}
		total := 0
		for i := 1; i <= n; i++ {
			total += i
		}
		fmt.Fprintf(w, "sum %d\n", total)
	})
	mux.HandleFunc("/hash", func(w http.ResponseWriter, r *http.Request) {
		atomic.AddInt64(&served, 1)
		h := sha256.New()
		for i := 0; i < 100000; i++ {
			fmt.Fprintf(h, "%d", i)
		}
		fmt.Fprintf(w, "hash %x\n", h.Sum(nil)[:8])
	})
	ln, err := net.Listen("tcp", "127.0.0.1:8080")
	if err != nil {
		fmt.Println("http: listen:", err)
		os.Exit(1)
	}
	fmt.Println("http: listening on 127.0.0.1:8080")
	if err := http.Serve(ln, mux); err != nil {
		fmt.Println("http: serve:", err)
		os.Exit(1)
	}
}
