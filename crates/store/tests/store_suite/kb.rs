//! The chatbot's knowledge base (issue 20): seeded once, then edited.

use super::*;

fn article(id: &str, lang: &str, answer: &str) -> KbArticleRecord {
    KbArticleRecord {
        id: id.into(),
        lang: lang.into(),
        tags: vec!["sim".into(), "puk".into()],
        questions: vec!["Quel est mon code PUK ?".into(), "SIM bloquée".into()],
        answer: answer.into(),
        self_service: Some("puk".into()),
        updated_at: Timestamp::from_millis(0),
    }
}

pub async fn knowledge_base(s: &dyn Store) {
    assert!(s.list_kb_articles().await.unwrap().is_empty());
    // First fill: written with the mark, in order.
    let seed = vec![
        article("puk.fr", "fr", "Le code PUK..."),
        article("hours.en", "en", "8 to 7"),
    ];
    assert!(s.seed_kb_articles(&seed, t(1)).await.unwrap());
    let list = s.list_kb_articles().await.unwrap();
    let ids: Vec<&str> = list.iter().map(|a| a.id.as_str()).collect();
    assert_eq!(ids, ["puk.fr", "hours.en"]);
    assert_eq!(list[0].tags, ["sim", "puk"]);
    assert_eq!(list[0].questions[1], "SIM bloquée");
    assert_eq!(list[0].self_service.as_deref(), Some("puk"));
    assert_eq!(list[1].updated_at, t(1));
    assert!(s.get_meta(KB_SEEDED_KEY).await.unwrap().is_some());
    // Never twice, even after every article is deleted.
    assert!(!s.seed_kb_articles(&seed, t(2)).await.unwrap());
    assert_eq!(s.list_kb_articles().await.unwrap().len(), 2);

    // Add after the others; a duplicate id and a bad language are refused.
    let mut new = article("roaming.en", "en", "Roaming is on.");
    new.self_service = None;
    new.tags.clear();
    s.insert_kb_article(&new, t(3)).await.unwrap();
    assert!(matches!(
        s.insert_kb_article(&new, t(4)).await,
        Err(StoreError::Conflict(m)) if m.contains("roaming.en")
    ));
    let mut de = new.clone();
    de.id = "x.de".into();
    de.lang = "de".into();
    assert!(matches!(
        s.insert_kb_article(&de, t(4)).await,
        Err(StoreError::Invalid(_))
    ));
    // Update keeps the place in the order.
    let mut edited = article("puk.fr", "fr", "Nouveau texte");
    edited.questions = vec!["Code PUK ?".into()];
    s.update_kb_article(&edited, t(5)).await.unwrap();
    let list = s.list_kb_articles().await.unwrap();
    let ids: Vec<&str> = list.iter().map(|a| a.id.as_str()).collect();
    assert_eq!(ids, ["puk.fr", "hours.en", "roaming.en"]);
    assert_eq!(list[0].answer, "Nouveau texte");
    assert_eq!(list[0].questions, ["Code PUK ?"]);
    assert_eq!(list[0].updated_at, t(5));
    assert!(list[2].tags.is_empty() && list[2].self_service.is_none());
    let mut ghost = edited.clone();
    ghost.id = "ghost.fr".into();
    assert!(matches!(
        s.update_kb_article(&ghost, t(6)).await,
        Err(StoreError::NotFound(_))
    ));
    // Delete.
    s.delete_kb_article("hours.en").await.unwrap();
    assert!(matches!(
        s.delete_kb_article("hours.en").await,
        Err(StoreError::NotFound(_))
    ));
    // A new article goes after the last one, even past a deleted one.
    let mut last = new.clone();
    last.id = "last.en".into();
    s.insert_kb_article(&last, t(7)).await.unwrap();
    let ids: Vec<String> = s
        .list_kb_articles()
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.id)
        .collect();
    assert_eq!(ids, ["puk.fr", "roaming.en", "last.en"]);
}
