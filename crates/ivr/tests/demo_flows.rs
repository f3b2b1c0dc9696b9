//! The shipped demo flows load, validate, and every prompt they reference
//! exists for every language they declare (also a validation rule).

mod common;
use common::*;

#[test]
fn demo_flows_load_and_every_prompt_exists() {
    let set = demo_set();
    let mut names: Vec<&str> = set.names().collect();
    names.sort();
    assert_eq!(names, ["main", "vip-line"]);
    let main = set.get("main").expect("main");
    assert_eq!(main.languages, ["fr", "en", "wo"]);
    assert_eq!(main.version, 1);
}

#[test]
fn wolof_has_the_menu_prompts_and_falls_back_to_french() {
    let cat = catalog();
    for p in [
        "welcome",
        "lang_wo",
        "main_menu",
        "invalid_choice",
        "no_input",
        "advisor_channels",
    ] {
        assert!(cat.contains("wo", p), "wo/{p}.wav missing");
    }
    assert!(!cat.contains("wo", "num_1"));
    let main = demo_set().get("main").expect("main");
    assert_eq!(main.prompt_language("wo", "main_menu"), "wo");
    assert_eq!(main.prompt_language("wo", "puk_is"), "fr");
}

#[test]
fn prompt_files_are_8khz_mono_16bit_wav() {
    let dir = repo().join("assets/prompts");
    let mut n = 0;
    for lang in ["fr", "en", "wo"] {
        for e in std::fs::read_dir(dir.join(lang)).expect("lang dir") {
            let p = e.expect("entry").path();
            let bytes = std::fs::read(&p).expect("read wav");
            assert_eq!(&bytes[0..4], b"RIFF", "{}", p.display());
            assert_eq!(&bytes[8..12], b"WAVE");
            // fmt chunk right after the header: PCM, channels, rate, bits.
            assert_eq!(&bytes[12..16], b"fmt ");
            let u16at = |i: usize| u16::from_le_bytes([bytes[i], bytes[i + 1]]);
            let u32at =
                |i: usize| u32::from_le_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]);
            assert_eq!(u16at(20), 1, "PCM {}", p.display());
            assert_eq!(u16at(22), 1, "mono {}", p.display());
            assert_eq!(u32at(24), 8000, "8 kHz {}", p.display());
            assert_eq!(u16at(34), 16, "16-bit {}", p.display());
            n += 1;
        }
    }
    assert!(n > 100, "only {n} prompts");
}

#[test]
fn a_missing_prompt_file_refuses_the_demo_flow() {
    let mut cat = ivr::PromptCatalog::new();
    let full = catalog();
    // Rebuild the catalog without en/main_menu.wav and without the French
    // word prompt num_80 (needed by `say` for fr and, by fallback, wo).
    for lang in ["fr", "en", "wo"] {
        for e in std::fs::read_dir(repo().join("assets/prompts").join(lang)).expect("dir") {
            let p = e.expect("entry").path();
            let name = p
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or_default()
                .to_string();
            if (lang, name.as_str()) != ("en", "main_menu")
                && (lang, name.as_str()) != ("fr", "num_80")
            {
                cat.insert(lang, &name);
            }
        }
    }
    assert_eq!(cat.len() + 2, full.len());
    let text = std::fs::read_to_string(repo().join("config/demo/flows/main.yaml")).expect("read");
    let e = ivr::load_flow("main.yaml", &text, &cat).expect_err("must be refused");
    assert!(
        e.0.iter().all(|x| x.kind == ivr::ErrorKind::MissingPrompt),
        "{e}"
    );
    assert!(
        e.0.iter()
            .any(|x| x.message.contains("`main_menu`") && x.message.contains("`en`")),
        "{e}"
    );
    assert!(e.0.iter().any(|x| x.message.contains("num_80")), "{e}");
}

#[test]
fn every_say_word_exists_for_french_and_english() {
    let cat = catalog();
    for g in [ivr::say::Grammar::French, ivr::say::Grammar::English] {
        for w in g.words() {
            assert!(
                cat.contains(g.language(), &w),
                "{}/{w}.wav missing",
                g.language()
            );
        }
    }
}
