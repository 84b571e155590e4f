//! The matching micro-benchmark on its own (the binary's
//! `samling bench matching` runs the same function):
//!
//!     cargo run --release -p samling-recruitment --example bench_matching -- [homes] [calls] [threads]
//!
//! Prints the figures as JSON.

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .map(|a| a.parse().unwrap_or_else(|_| panic!("not a number: {a}")))
        .collect();
    let mut o = samling_recruitment::matching::bench::BenchOptions::default();
    if let Some(n) = args.first() {
        o.homes = *n;
    }
    if let Some(n) = args.get(1) {
        o.calls = *n;
    }
    if let Some(n) = args.get(2) {
        o.threads = *n;
    }
    let f = samling_recruitment::matching::bench::run(&o);
    println!("{}", serde_json::to_string_pretty(&f).unwrap_or_default());
}
