//! Issue 13, the SIP edge against a real scanner: SIPVicious `svwar`
//! enumerates extensions by comparing the registrar's answer for a random
//! name with its answer for each candidate. Ours must be the same for
//! existing users (`2001`, `2002` in the test directory) and unknown ones,
//! so the scan finds nothing, by REGISTER and by OPTIONS.
//!
//! Needs `sipvicious_svwar` (PyPI `sipvicious`, installed by `scripts/test`).

mod common;

use common::{WAIT, start_stack};
use std::process::Stdio;

/// Run `svwar` against `port` on loopback; its whole output (it logs to
/// standard error) and exit code.
async fn svwar(port: u16, method: &str) -> (String, i32) {
    let out = tokio::time::timeout(
        WAIT,
        tokio::process::Command::new("sipvicious_svwar")
            .args(["-e1995-2010", "-m", method, "--force", "-t", "0.05"])
            .args(["-p", &port.to_string(), "127.0.0.1"])
            .stdin(Stdio::null())
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("svwar finished in time")
    .expect("svwar must be installed (PyPI sipvicious)");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (text, out.status.code().unwrap_or(-1))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn svwar_finds_no_extension_by_register_or_options() {
    let (handle, _events) = start_stack().await;
    let port = handle.local_addr().port();
    for method in ["REGISTER", "OPTIONS"] {
        let (out, code) = svwar(port, method).await;
        // svwar lists what it finds as table rows (`| 2001 | reqauth |`);
        // its warnings echo our answers, whose random Call-ID, tags and
        // nonce may contain the digits "2001" by chance.
        let listed = out.lines().any(|l| {
            let cell = l.trim_start().trim_start_matches('|').trim_start();
            cell.starts_with("2001") || cell.starts_with("2002")
        });
        assert!(
            !listed && !out.contains("exists"),
            "{method}: svwar told existing users apart (exit {code}):\n{out}"
        );
        assert!(
            out.contains("found nothing"),
            "{method}: svwar did not complete its scan (exit {code}):\n{out}"
        );
    }
}
