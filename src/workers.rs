//! A fixed number of scoped threads taking items in an order the caller chooses, each result
//! sent back as soon as it is made: the stage's side-by-side merge (largest archive first) and the
//! image's partition builders (disk order, one worker fewer than the cores).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, mpsc};
use std::thread::Scope;

/// Starts `workers` threads (at least one) on `scope` that take the indices of `order` in turn,
/// run `work` on each and send back `(index, result)`. The receiver ends once every index is done,
/// or early when a worker panicked (the scope passes the panic on when it ends). Workers stop
/// taking indices once the receiver is dropped.
pub fn spawn<'scope, R, F>(
    scope: &'scope Scope<'scope, '_>,
    order: Vec<usize>,
    workers: usize,
    work: F,
) -> mpsc::Receiver<(usize, R)>
where
    R: Send + 'scope,
    F: Fn(usize) -> R + Send + Sync + 'scope,
{
    let (tx, rx) = mpsc::channel();
    let shared = Arc::new((order, AtomicUsize::new(0), work));
    for _ in 0..workers.max(1) {
        let (tx, shared) = (tx.clone(), Arc::clone(&shared));
        scope.spawn(move || {
            let (order, next, work) = &*shared;
            while let Some(&i) = order.get(next.fetch_add(1, Ordering::Relaxed)) {
                if tx.send((i, work(i))).is_err() {
                    break;
                }
            }
        });
    }
    rx
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[test]
    fn every_index_is_worked_once_and_taken_in_the_given_order() {
        let taken = Mutex::new(Vec::new());
        let mut results: Vec<(usize, usize)> = std::thread::scope(|s| {
            let rx = spawn(s, vec![3, 0, 2, 1], 1, |i| {
                taken.lock().unwrap().push(i);
                i * 10
            });
            rx.into_iter().collect()
        });
        assert_eq!(taken.into_inner().unwrap(), [3, 0, 2, 1]);
        results.sort();
        assert_eq!(results, [(0, 0), (1, 10), (2, 20), (3, 30)]);
    }

    #[test]
    fn several_workers_share_the_items() {
        let mut results: Vec<usize> = std::thread::scope(|s| {
            spawn(s, (0..100).collect(), 4, |i| i)
                .into_iter()
                .map(|(i, r)| {
                    assert_eq!(i, r);
                    r
                })
                .collect()
        });
        results.sort();
        assert_eq!(results, (0..100).collect::<Vec<_>>());
    }

    #[test]
    fn a_dropped_receiver_stops_the_workers() {
        let worked = AtomicUsize::new(0);
        std::thread::scope(|s| {
            let rx = spawn(s, (0..1000).collect(), 1, |_| {
                worked.fetch_add(1, Ordering::Relaxed);
                std::thread::sleep(std::time::Duration::from_millis(1));
            });
            rx.recv().unwrap();
            drop(rx);
        });
        assert!(worked.load(Ordering::Relaxed) < 1000);
    }
}
