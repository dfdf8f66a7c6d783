// std::thread in Rust: threads sharing a Mutex, an mpsc channel from
// sleeping threads, scoped threads. Built static (crt-static) with the
// machine's rustc by tests/integration/kernel_programs.sh, which compares its
// output in the carve kernel with the host's.
use std::sync::{mpsc, Arc, Mutex};
use std::thread;
use std::time::Duration;

fn main() {
    let counter = Arc::new(Mutex::new(0u64));
    let handles: Vec<_> = (0..8)
        .map(|i| {
            let c = Arc::clone(&counter);
            thread::spawn(move || {
                for _ in 0..10000 {
                    *c.lock().unwrap() += 1;
                }
                i * i
            })
        })
        .collect();
    let squares: u64 = handles.into_iter().map(|h| h.join().unwrap()).sum();
    println!("counter {} squares {}", *counter.lock().unwrap(), squares);
    let (tx, rx) = mpsc::channel();
    for id in 0..4 {
        let tx = tx.clone();
        thread::spawn(move || {
            thread::sleep(Duration::from_millis(5 * id));
            tx.send(id).unwrap();
        });
    }
    drop(tx);
    let mut got: Vec<u64> = rx.iter().collect();
    got.sort();
    println!("channel {:?}", got);
    let scoped_sum: usize = thread::scope(|s| {
        let parts: Vec<_> = (0..4).map(|k| s.spawn(move || (k * 100..(k + 1) * 100).sum::<usize>())).collect();
        parts.into_iter().map(|p| p.join().unwrap()).sum()
    });
    println!("scoped {}", scoped_sum);
}
