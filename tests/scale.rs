//! A million actors, each receiving one message (R7). Release builds spawn
//! 1,000,000 (the test suite runs `cargo test --release`); debug builds
//! 100,000 to stay quick.
mod util;

use jzx::{Actor, Context, Flow};
use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

const N: usize = if cfg!(debug_assertions) {
    100_000
} else {
    1_000_000
};

struct Leaf(Rc<Cell<u64>>);

impl Actor for Leaf {
    type Msg = u32;
    fn handle(&mut self, _cx: &mut Context<'_, Self>, n: u32) -> Flow {
        self.0.set(self.0.get() + u64::from(n));
        Flow::Stop
    }
}

#[test]
fn a_million_actors_each_receive_one_message() {
    // Default config: 1 M live actors need no config change (R7).
    let backend = util::backends()[0];
    let mut lp = util::new_loop(backend);
    let sum = Rc::new(Cell::new(0u64));
    let mut addrs = Vec::with_capacity(N);
    for _ in 0..N {
        addrs.push(lp.spawn(Leaf(sum.clone())).unwrap());
    }
    assert_eq!(lp.actor_count(), N);
    for (i, a) in addrs.iter().enumerate() {
        lp.send(*a, i as u32).unwrap();
    }
    util::run_within(&mut lp, Duration::from_secs(120));
    let n = N as u64;
    assert_eq!(sum.get(), n * (n - 1) / 2);
    assert_eq!(lp.actor_count(), 0);
}
