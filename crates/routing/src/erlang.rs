//! Erlang C (M/M/N queue with infinite patience), the reference the
//! simulator is checked against.
//!
//! With `N` agents, offered traffic `A = λ × AHT` Erlangs (`A < N`):
//!
//! ```text
//! B(0) = 1,  B(k) = A·B(k−1) / (k + A·B(k−1))          (Erlang B, recursive)
//! C(N, A) = N·B(N) / (N − A·(1 − B(N)))                 (probability of waiting)
//! P(wait ≤ t) = 1 − C(N, A) · exp(−(N − A) · t / AHT)    (service level)
//! ASA = C(N, A) · AHT / (N − A)
//! occupancy = A / N
//! ```
//!
//! (A. K. Erlang, 1917; ITU-T E.521 uses the same formulas for waiting
//! systems.) All functions return `None` when `A ≥ N` (no steady state).

/// Probability that a task has to wait, `C(N, A)`.
pub fn erlang_c(agents: u32, traffic_erlangs: f64) -> Option<f64> {
    let n = f64::from(agents);
    if agents == 0 || !(0.0..n).contains(&traffic_erlangs) {
        return None;
    }
    let a = traffic_erlangs;
    let mut b = 1.0;
    for k in 1..=agents {
        b = a * b / (f64::from(k) + a * b);
    }
    Some(n * b / (n - a * (1.0 - b)))
}

/// Share of tasks answered within `t_s` seconds (0..=1).
pub fn service_level(agents: u32, traffic_erlangs: f64, aht_s: f64, t_s: f64) -> Option<f64> {
    let c = erlang_c(agents, traffic_erlangs)?;
    Some(1.0 - c * (-(f64::from(agents) - traffic_erlangs) * t_s / aht_s).exp())
}

/// Average speed of answer, seconds.
pub fn asa_s(agents: u32, traffic_erlangs: f64, aht_s: f64) -> Option<f64> {
    let c = erlang_c(agents, traffic_erlangs)?;
    Some(c * aht_s / (f64::from(agents) - traffic_erlangs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_values() {
        // Textbook case: 10 agents, 8 Erlangs: C ≈ 0.4092
        let c = erlang_c(10, 8.0).unwrap_or(0.0);
        assert!((c - 0.4092).abs() < 1e-3, "C = {c}");
        // one agent: C = A
        assert!((erlang_c(1, 0.5).unwrap_or(0.0) - 0.5).abs() < 1e-12);
        let asa = asa_s(10, 8.0, 180.0).unwrap_or(0.0);
        assert!((asa - 36.83).abs() < 0.1, "ASA = {asa}");
        let sl = service_level(10, 8.0, 180.0, 20.0).unwrap_or(0.0);
        assert!((sl - 0.6724).abs() < 1e-3, "SL = {sl}");
        assert_eq!(erlang_c(10, 10.0), None);
    }
}
