//! A bounded single-producer, single-consumer ring: how one loop of a
//! [`Runtime`](crate::Runtime) hands runs of messages to another (R26).
//!
//! Each ordered pair of loops has its own ring, so a ring has exactly one
//! thread pushing and one popping, and neither ever waits for the other:
//! the producer writes a slot, then publishes it by moving `tail` on
//! (release); the consumer reads `tail` (acquire), takes the slot, then
//! frees it by moving `head` on (release), which the producer reads
//! (acquire) before reusing the slot. Each side keeps its own position and a
//! cached copy of the other's, and reads the other's atomic only when the
//! cache says the ring is full (producer) or empty (consumer), so a steady
//! stream touches the shared cache lines once per ring's worth, not once
//! per item. `head` and `tail` sit on separate cache lines.
//!
//! The two halves are separate values ([`Producer`], [`Consumer`]) whose
//! methods take `&mut self`: the type system keeps each side to one thread
//! at a time. Items left in the ring when both halves are gone are dropped.
//!
//! Under `--cfg loom` the atomics and cells are loom's, and the models in
//! `loom_tests` check every interleaving of a producer and a consumer.

#[cfg(loom)]
use loom::sync::{
    atomic::{AtomicUsize, Ordering},
    Arc,
};
#[cfg(not(loom))]
use std::sync::{
    atomic::{AtomicUsize, Ordering},
    Arc,
};

use super::padded::Padded;
use std::mem::MaybeUninit;

#[cfg(loom)]
use loom::cell::UnsafeCell;

/// `std`'s `UnsafeCell` with the closure-style access of loom's, so that
/// the ring reads the same under both.
#[cfg(not(loom))]
#[derive(Debug)]
struct UnsafeCell<T>(std::cell::UnsafeCell<T>);

#[cfg(not(loom))]
impl<T> UnsafeCell<T> {
    fn new(v: T) -> Self {
        UnsafeCell(std::cell::UnsafeCell::new(v))
    }
    fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
        f(self.0.get())
    }
}

struct Shared<T> {
    /// Next slot the consumer takes; written by the consumer only. Each
    /// position is on its own cache line, so that the producer's writes of
    /// `tail` do not invalidate the consumer's line holding `head`.
    head: Padded<AtomicUsize>,
    /// Next slot the producer fills; written by the producer only.
    tail: Padded<AtomicUsize>,
    slots: Box<[UnsafeCell<MaybeUninit<T>>]>,
}

// SAFETY: a slot is only ever accessed by one side at a time (the producer
// before publishing it, the consumer after, as `head`/`tail` order), so
// sharing `Shared` between the two threads is sound when items can move
// between threads.
#[allow(unsafe_code)]
unsafe impl<T: Send> Sync for Shared<T> {}
// SAFETY: as above; `Shared` owns the items it holds.
#[allow(unsafe_code)]
unsafe impl<T: Send> Send for Shared<T> {}

impl<T> Shared<T> {
    fn slot(&self, pos: usize) -> &UnsafeCell<MaybeUninit<T>> {
        &self.slots[pos & (self.slots.len() - 1)]
    }
}

impl<T> Drop for Shared<T> {
    fn drop(&mut self) {
        let tail = self.tail.0.load(Ordering::Acquire);
        let mut head = self.head.0.load(Ordering::Acquire);
        while head != tail {
            // SAFETY: slots between `head` and `tail` were written and not
            // taken; both halves are gone, so nothing else touches them.
            #[allow(unsafe_code)]
            self.slot(head)
                .with_mut(|p| unsafe { (*p).assume_init_drop() });
            head = head.wrapping_add(1);
        }
    }
}

/// The pushing half of a ring.
pub(crate) struct Producer<T> {
    shared: Arc<Shared<T>>,
    tail: usize,
    /// `head` as last read: the ring holds at most `tail - head_seen` items.
    head_seen: usize,
}

/// The popping half of a ring.
pub(crate) struct Consumer<T> {
    shared: Arc<Shared<T>>,
    head: usize,
    /// `tail` as last read: at least `tail_seen - head` items are there.
    tail_seen: usize,
}

/// A ring of `capacity` items (rounded up to a power of two, at least 2).
pub(crate) fn ring<T>(capacity: usize) -> (Producer<T>, Consumer<T>) {
    let capacity = capacity.max(2).next_power_of_two();
    let slots = (0..capacity)
        .map(|_| UnsafeCell::new(MaybeUninit::uninit()))
        .collect();
    let shared = Arc::new(Shared {
        head: Padded(AtomicUsize::new(0)),
        tail: Padded(AtomicUsize::new(0)),
        slots,
    });
    (
        Producer {
            shared: shared.clone(),
            tail: 0,
            head_seen: 0,
        },
        Consumer {
            shared,
            head: 0,
            tail_seen: 0,
        },
    )
}

impl<T> Producer<T> {
    /// Adds `item` at the back; gives it back when the ring is full.
    pub(crate) fn push(&mut self, item: T) -> Result<(), T> {
        let cap = self.shared.slots.len();
        if self.tail.wrapping_sub(self.head_seen) == cap {
            self.head_seen = self.shared.head.0.load(Ordering::Acquire);
            if self.tail.wrapping_sub(self.head_seen) == cap {
                return Err(item);
            }
        }
        // SAFETY: the slot at `tail` is free (the consumer has moved `head`
        // past its previous item, acquired above) and unpublished, so only
        // this side touches it.
        #[allow(unsafe_code)]
        self.shared
            .slot(self.tail)
            .with_mut(|p| unsafe { (*p).write(item) });
        self.tail = self.tail.wrapping_add(1);
        self.shared.tail.0.store(self.tail, Ordering::Release);
        Ok(())
    }
}

impl<T> Consumer<T> {
    /// Takes the item at the front, if any.
    pub(crate) fn pop(&mut self) -> Option<T> {
        if self.head == self.tail_seen {
            self.tail_seen = self.shared.tail.0.load(Ordering::Acquire);
            if self.head == self.tail_seen {
                return None;
            }
        }
        // SAFETY: the slot at `head` was written and published (`tail`,
        // acquired above, is past it) and not yet taken.
        #[allow(unsafe_code)]
        let item = self
            .shared
            .slot(self.head)
            .with_mut(|p| unsafe { (*p).assume_init_read() });
        self.head = self.head.wrapping_add(1);
        self.shared.head.0.store(self.head, Ordering::Release);
        Some(item)
    }

    /// Whether an item is there to pop (reads the producer's position).
    pub(crate) fn has_items(&mut self) -> bool {
        if self.head != self.tail_seen {
            return true;
        }
        self.tail_seen = self.shared.tail.0.load(Ordering::Acquire);
        self.head != self.tail_seen
    }
}

impl<T> std::fmt::Debug for Producer<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Producer")
    }
}

impl<T> std::fmt::Debug for Consumer<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Consumer")
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::ring;

    #[test]
    fn items_come_out_in_order_and_a_full_ring_refuses() {
        let (mut p, mut c) = ring::<u32>(4);
        for i in 0..4 {
            p.push(i).unwrap();
        }
        assert_eq!(p.push(4), Err(4));
        assert_eq!(c.pop(), Some(0));
        p.push(4).unwrap();
        let got: Vec<u32> = std::iter::from_fn(|| c.pop()).collect();
        assert_eq!(got, [1, 2, 3, 4]);
        assert_eq!(c.pop(), None);
    }

    #[test]
    fn items_left_in_the_ring_are_dropped_once() {
        let item = std::rc::Rc::new(());
        {
            let (mut p, c) = ring(8);
            for _ in 0..5 {
                p.push(item.clone()).unwrap();
            }
            drop(c);
            assert_eq!(std::rc::Rc::strong_count(&item), 6);
        }
        assert_eq!(std::rc::Rc::strong_count(&item), 1);
    }

    #[test]
    fn a_stream_across_threads_keeps_every_item_in_order() {
        let (mut p, mut c) = ring::<u64>(64);
        const N: u64 = 200_000;
        let producer = std::thread::spawn(move || {
            for i in 0..N {
                let mut item = i;
                while let Err(back) = p.push(item) {
                    item = back;
                    std::hint::spin_loop();
                }
            }
        });
        let mut next = 0;
        while next < N {
            if let Some(i) = c.pop() {
                assert_eq!(i, next);
                next += 1;
            }
        }
        producer.join().unwrap();
        assert_eq!(c.pop(), None);
    }
}

/// The ring under loom: every interleaving of a producer and a consumer
/// thread that the memory model allows (`RUSTFLAGS="--cfg loom" cargo test
/// --release --lib loom`). Loom also checks that no slot is read while it
/// is written: each access to a slot's cell must happen-after the last one
/// on the other thread, through `head`'s and `tail`'s release/acquire pairs.
#[cfg(all(test, loom))]
mod loom_tests {
    use super::ring;
    use loom::sync::atomic::{AtomicUsize, Ordering};
    use loom::sync::Arc;
    use loom::thread;

    /// Counts its drops.
    struct Item(Arc<AtomicUsize>);

    impl Drop for Item {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }

    // Three items through a ring of two, the producer retrying while it is
    // full: the consumer takes each once, in order, and nothing more.
    #[test]
    fn loom_items_cross_once_in_order_through_a_full_ring() {
        const ITEMS: u32 = 3;
        loom::model(|| {
            let (mut p, mut c) = ring::<u32>(2);
            let producer = thread::spawn(move || {
                for i in 0..ITEMS {
                    let mut item = i;
                    while let Err(back) = p.push(item) {
                        item = back;
                        thread::yield_now();
                    }
                }
            });
            let mut next = 0;
            while next < ITEMS {
                match c.pop() {
                    Some(i) => {
                        assert_eq!(i, next);
                        next += 1;
                    }
                    None => thread::yield_now(),
                }
            }
            producer.join().unwrap();
            assert_eq!(c.pop(), None);
        });
    }

    // The producer pushes three items into a ring of two (one it cannot
    // push comes back and is dropped there) and drops its half; the
    // consumer takes one at most and drops its half, on another thread, in
    // either order: every item is dropped exactly once, those left in the
    // ring by the half dropped last.
    #[test]
    fn loom_items_left_in_the_ring_are_dropped_once() {
        const ITEMS: usize = 3;
        loom::model(|| {
            let drops = Arc::new(AtomicUsize::new(0));
            let (mut p, mut c) = ring::<Item>(2);
            let d = drops.clone();
            let producer = thread::spawn(move || {
                for _ in 0..ITEMS {
                    // A full ring hands the item back: dropped here.
                    let _ = p.push(Item(d.clone()));
                }
                drop(p);
            });
            drop(c.pop());
            drop(c);
            producer.join().unwrap();
            assert_eq!(drops.load(Ordering::Relaxed), ITEMS);
        });
    }
}
