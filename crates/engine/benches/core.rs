//! Engine core decisions per second (issue 12; a bench binary that prints
//! its figures, not a test).
//!
//! `cargo bench -p engine --bench core`: `BENCH_CALLS` calls (default
//! 200,000) through the sans-I/O core — IVR menu with a prompt, digit 1 →
//! queue, offered to one of `BENCH_AGENTS` agents (default 50) whose phone
//! answers, caller hangs up — with a fake shell that answers every effect at
//! once, on one thread. Target (issue 12): ≥ 50,000 call setups/s.

fn main() {
    let calls: u64 = std::env::var("BENCH_CALLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200_000);
    let agents: u32 = std::env::var("BENCH_AGENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    // One warm-up round, then the measured one.
    rt.block_on(engine::bench_support::core_setups(calls / 10, agents));
    let f = rt.block_on(engine::bench_support::core_setups(calls, agents));
    println!(
        "engine core: {} calls (IVR → queue → answer → end) with {agents} agents in {:.3} s: {:.0} setups/s, {} inputs, {} effects ({:.0} inputs/s)",
        f.calls,
        f.elapsed.as_secs_f64(),
        f.setups_per_s(),
        f.inputs,
        f.effects,
        f.inputs as f64 / f.elapsed.as_secs_f64()
    );
}
