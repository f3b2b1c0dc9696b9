//! Routing benchmark: 10 000 agents with random skills in 200 queues (all
//! seven strategies), 100 000 waiting tasks (voice, chat, e-mail; mass,
//! business, VIP). One cycle = an agent hangs up (the router picks that
//! agent's next task among its queues: the decision), the agent accepts, and
//! a new task arrives to keep 100 000 waiting.
//!
//! Prints p50/p99 per decision and assignments per second, then runs the
//! same cycle under criterion. Run: `cargo bench -p routing`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::Criterion;
use domain::*;
use routing::rng::SplitMix64;
use routing::*;

const AGENTS: i64 = 10_000;
const QUEUES: i64 = 200;
const SKILLS: u64 = 40;
const WAITING: usize = 100_000;

struct Bench {
    acd: Acd,
    rng: SplitMix64,
    now: Timestamp,
    next_task: i64,
    connected: Vec<InteractionId>,
    offers: u64,
}

fn skill(i: u64) -> String {
    format!("s{i}")
}

impl Bench {
    fn new() -> Self {
        let mut rng = SplitMix64::new(42);
        let strategies = [
            Strategy::LongestIdle,
            Strategy::RoundRobin,
            Strategy::LeastCalls,
            Strategy::RingAll,
            Strategy::Random,
            Strategy::SkillsWeighted,
            Strategy::Linear,
        ];
        let queues = (0..QUEUES)
            .map(|i| {
                let n = 1 + rng.below(2);
                let mut required: Vec<SkillLevel> = Vec::new();
                while (required.len() as u64) < n {
                    let s = skill(rng.below(SKILLS));
                    if required.iter().all(|r| r.skill != s) {
                        required.push(SkillLevel {
                            skill: s,
                            level: 1 + rng.below(4) as u8,
                        });
                    }
                }
                let mut q = QueueConfig::new(Queue {
                    id: QueueId(i),
                    name: format!("q{i}"),
                    required_skills: required,
                    strategy: strategies[(i as usize) % strategies.len()],
                    service_level: ServiceLevel::default(),
                    wrap_up_s: 0,
                    max_wait_s: if i % 2 == 0 { 3_600 } else { 0 },
                    ring_timeout_s: 15,
                    priority: (i % 3) as i32,
                });
                q.widen = (i % 4 == 0).then_some(Widen {
                    after_s: 600,
                    min_level: 1,
                });
                // announcements are measured apart: position is O(position)
                q.announce_on_arrival = false;
                q
            })
            .collect();
        let mut acd = Acd::new(AcdConfig {
            queues,
            ..AcdConfig::default()
        })
        .expect("config");
        let now = Timestamp::from_millis(1_800_000_000_000);
        for a in 0..AGENTS {
            let mut skills: Vec<SkillLevel> = Vec::new();
            while skills.len() < 6 {
                let s = skill(rng.below(SKILLS));
                if skills.iter().all(|x| x.skill != s) {
                    skills.push(SkillLevel {
                        skill: s,
                        level: 1 + rng.below(10) as u8,
                    });
                }
            }
            acd.handle_agent_login(now, AgentProfile::new(AgentId(a), skills))
                .expect("login");
        }
        let mut b = Bench {
            acd,
            rng,
            now,
            next_task: 0,
            connected: Vec::new(),
            offers: 0,
        };
        while b.acd.waiting_count() < WAITING {
            b.arrive();
            b.accept_all();
        }
        b
    }

    fn arrive(&mut self) {
        let channel = match self.rng.below(10) {
            0..=6 => Channel::Voice,
            7 | 8 => Channel::Whatsapp,
            _ => Channel::Email,
        };
        let segment = [
            Segment::Mass,
            Segment::Mass,
            Segment::Business,
            Segment::Vip,
        ][self.rng.below(4) as usize];
        let q = QueueId(self.rng.below(QUEUES as u64) as i64);
        self.next_task += 1;
        let task = Task::new(InteractionId(self.next_task), q, channel, segment);
        self.acd
            .handle_task_arrived(self.now, task)
            .expect("arrive");
    }

    fn accept_all(&mut self) {
        while let Some(d) = self.acd.poll_decision() {
            match d {
                Decision::Offer { task, agents, .. } => {
                    self.offers += 1;
                    self.acd
                        .handle_offer_accepted(self.now, task, agents[0])
                        .expect("accept");
                    self.connected.push(task);
                }
                Decision::CallbackDue { task, agent, .. } => {
                    self.offers += 1;
                    self.acd
                        .handle_offer_accepted(self.now, task, agent)
                        .expect("accept");
                    self.connected.push(task);
                }
                _ => {}
            }
        }
    }

    /// One cycle; returns the times of the hang-up call (the decision),
    /// the accept and the new arrival.
    fn cycle(&mut self) -> [Duration; 3] {
        self.now = self.now.add_millis(1);
        let i = self.rng.below(self.connected.len() as u64) as usize;
        let task = self.connected.swap_remove(i);
        let start = Instant::now();
        self.acd.handle_task_ended(self.now, task).expect("end");
        let decision = start.elapsed();
        let start = Instant::now();
        self.accept_all();
        let accept = start.elapsed();
        let start = Instant::now();
        self.arrive();
        let arrival = start.elapsed();
        self.accept_all();
        [decision, accept, arrival]
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(i).copied().unwrap_or_default()
}

fn main() {
    let setup = Instant::now();
    let mut b = Bench::new();
    println!(
        "setup: {AGENTS} agents, {QUEUES} queues, {} waiting, {} connected ({:.1} s)",
        b.acd.waiting_count(),
        b.connected.len(),
        setup.elapsed().as_secs_f64()
    );
    let cycles = 200_000;
    let offers_before = b.offers;
    let mut times: [Vec<Duration>; 3] = Default::default();
    let started = Instant::now();
    for _ in 0..cycles {
        for (v, d) in times.iter_mut().zip(b.cycle()) {
            v.push(d);
        }
    }
    let wall = started.elapsed();
    let assignments = b.offers - offers_before;
    let busy: Duration = times.iter().flatten().sum();
    let names = [
        "decision (hang-up → next offer)",
        "accept",
        "arrival (queued)",
    ];
    for (name, t) in names.iter().zip(times.iter_mut()) {
        t.sort_unstable();
        println!(
            "{name:32} p50 {:6.2} µs  p99 {:6.2} µs  max {:8.2} µs over {cycles} cycles",
            percentile(t, 0.50).as_secs_f64() * 1e6,
            percentile(t, 0.99).as_secs_f64() * 1e6,
            t.last().copied().unwrap_or_default().as_secs_f64() * 1e6,
        );
    }
    // Position for an announcement, O(position): measured on its own.
    let mut pos = Vec::with_capacity(10_000);
    for _ in 0..10_000 {
        b.arrive();
        let id = InteractionId(b.next_task);
        let start = Instant::now();
        black_box(b.acd.position(id));
        pos.push(start.elapsed());
        b.accept_all();
    }
    pos.sort_unstable();
    println!(
        "{:32} p50 {:6.2} µs  p99 {:6.2} µs (queues of ~{} tasks)",
        "position/EWT of a new arrival",
        percentile(&pos, 0.50).as_secs_f64() * 1e6,
        percentile(&pos, 0.99).as_secs_f64() * 1e6,
        b.acd.waiting_count() / QUEUES as usize
    );
    println!(
        "assignments: {assignments} in {:.2} s = {:.0} /s (full cycle: hang-up + decision + accept + new arrival), waiting {}",
        wall.as_secs_f64(),
        assignments as f64 / wall.as_secs_f64(),
        b.acd.waiting_count()
    );
    println!(
        "router time per assignment (hang-up + decision + accept + arrival calls only): {:.2} µs = {:.0} assignments/s on one core",
        busy.as_secs_f64() * 1e6 / assignments as f64,
        assignments as f64 / busy.as_secs_f64()
    );

    let mut c = Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .configure_from_args();
    c.bench_function("routing cycle, 10k agents, 100k waiting", |bench| {
        bench.iter(|| black_box(b.cycle()));
    });
    c.final_summary();
}
