//! The UI's strings in French and English: one table, looked up by key.
//! Unknown keys render as the key itself (visible, never a panic); a unit
//! test checks that every key used by the templates and scripts exists.

use serde::Serialize;

/// A UI language. French is the default.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub enum Lang {
    /// Français (default).
    #[default]
    Fr,
    /// English.
    En,
}

impl Lang {
    /// `fr` or `en`; anything else is `None`.
    pub fn parse(code: &str) -> Option<Lang> {
        match code.trim().to_ascii_lowercase().as_str() {
            "fr" => Some(Lang::Fr),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    /// The BCP 47 code (`fr`, `en`), for `<html lang>` and the cookie.
    pub fn code(self) -> &'static str {
        match self {
            Lang::Fr => "fr",
            Lang::En => "en",
        }
    }

    /// The other language (for the switch link).
    pub fn other(self) -> Lang {
        match self {
            Lang::Fr => Lang::En,
            Lang::En => Lang::Fr,
        }
    }

    /// The string for `key` in this language (the key itself if unknown).
    pub fn t(self, key: &str) -> &'static str {
        match STRINGS.iter().find(|(k, _, _)| *k == key) {
            Some((_, fr, en)) => match self {
                Lang::Fr => fr,
                Lang::En => en,
            },
            None => "??",
        }
    }

    /// Every string as a JSON object `{key: text}`, for the page scripts.
    /// `<` is escaped as `\u003c` so the text is safe inside `<script>`.
    pub fn json(self) -> String {
        let map: serde_json::Map<String, serde_json::Value> = STRINGS
            .iter()
            .map(|(k, fr, en)| {
                let v = if self == Lang::Fr { fr } else { en };
                ((*k).to_string(), serde_json::Value::from(*v))
            })
            .collect();
        serde_json::Value::Object(map)
            .to_string()
            .replace('<', "\\u003c")
    }
}

/// `(key, français, English)`.
const STRINGS: &[(&str, &str, &str)] = &[
    ("app", "Switchboard", "Switchboard"),
    ("skip", "Aller au contenu", "Skip to content"),
    ("nav", "Navigation", "Navigation"),
    ("ring_timeout", "Sonnerie max", "Ring time-out"),
    ("held", "Appel en attente", "Call on hold"),
    ("call_ended", "Appel terminé", "Call ended"),
    ("lang_switch", "English", "Français"),
    ("login_title", "Connexion", "Sign in"),
    ("username", "Identifiant", "Username"),
    ("password", "Mot de passe", "Password"),
    ("sign_in", "Se connecter", "Sign in"),
    ("sign_out", "Se déconnecter", "Sign out"),
    (
        "bad_login",
        "Identifiant ou mot de passe incorrect.",
        "Wrong username or password.",
    ),
    (
        "bad_csrf",
        "Le formulaire a expiré, réessayez.",
        "The form expired, please try again.",
    ),
    (
        "login_error",
        "Connexion impossible pour le moment.",
        "Cannot sign in right now.",
    ),
    ("nav_agent", "Poste agent", "Agent desktop"),
    ("nav_supervisor", "Supervision", "Supervisor"),
    ("nav_admin", "Administration", "Admin"),
    (
        "not_agent",
        "Ce compte n'est pas un agent.",
        "This account is not an agent.",
    ),
    (
        "forbidden",
        "Accès refusé pour ce rôle.",
        "Not allowed for this role.",
    ),
    ("state", "État", "State"),
    ("time_in_state", "Depuis", "For"),
    ("acd_login", "Connexion ACD", "Log in to ACD"),
    ("acd_logout", "Déconnexion ACD", "Log out of ACD"),
    ("ready", "Disponible", "Ready"),
    ("pause", "Pause", "Pause"),
    ("pause_reason", "Motif de pause", "Pause reason"),
    ("reason_break", "Pause café", "Break"),
    ("reason_lunch", "Déjeuner", "Lunch"),
    ("reason_training", "Formation", "Training"),
    ("reason_meeting", "Réunion", "Meeting"),
    ("st_logged_out", "Déconnecté", "Logged out"),
    ("st_available", "Disponible", "Available"),
    ("st_reserved", "Sonnerie", "Ringing"),
    ("st_busy", "En communication", "Busy"),
    ("st_wrap_up", "Post-appel", "Wrap-up"),
    ("st_paused", "En pause", "Paused"),
    ("st_unknown", "Inconnu", "Unknown"),
    ("ringing", "Appel entrant", "Incoming call"),
    ("in_call", "En communication", "In call"),
    ("customer", "Client", "Customer"),
    ("unknown_customer", "Client inconnu", "Unknown customer"),
    ("number", "Numéro", "Number"),
    ("segment", "Segment", "Segment"),
    ("language", "Langue", "Language"),
    ("ivr_path", "Parcours SVI", "IVR path"),
    (
        "bot_handover",
        "Transmis par le chatbot",
        "Handed over by the chatbot",
    ),
    ("bot_intent", "Intention", "Intent"),
    ("bot_articles", "Articles proposés", "Articles tried"),
    ("queue", "File", "Queue"),
    (
        "last_interactions",
        "Dernières interactions",
        "Last interactions",
    ),
    ("none", "Aucune", "None"),
    ("hold", "Mettre en attente", "Hold"),
    ("unhold", "Reprendre", "Resume"),
    ("on_hold", "En attente", "On hold"),
    ("hang_up", "Raccrocher", "Hang up"),
    ("close_conversation", "Clôturer", "Close"),
    (
        "customer_typing",
        "Le client écrit…",
        "The customer is typing…",
    ),
    ("wrap_up", "Qualification", "Wrap-up"),
    ("disposition", "Qualification", "Disposition"),
    ("notes", "Notes", "Notes"),
    ("submit", "Valider", "Submit"),
    ("saved", "Enregistré.", "Saved."),
    ("error", "Erreur", "Error"),
    ("search_customers", "Recherche client", "Customer search"),
    (
        "search_hint",
        "Nom, numéro ou e-mail",
        "Name, number or e-mail",
    ),
    ("search", "Rechercher", "Search"),
    ("no_results", "Aucun résultat.", "No results."),
    ("timeline", "Historique", "Timeline"),
    ("merge_with", "Fusionner avec…", "Merge with…"),
    (
        "merge_search_label",
        "Client en double à fusionner dans celui-ci",
        "Duplicate customer to merge into this one",
    ),
    (
        "merge_candidates",
        "Clients à fusionner",
        "Customers to merge",
    ),
    ("merge_confirm", "Fusionner", "Merge"),
    (
        "merge_question",
        "Fusionner « {from} » dans « {into} » ? Ses numéros, adresses et son historique passent sur cette fiche.",
        "Merge “{from}” into “{into}”? Its numbers, addresses and history move to this record.",
    ),
    (
        "merged_into_note",
        "Cette fiche a été fusionnée dans la fiche n° {id}.",
        "This record was merged into customer {id}.",
    ),
    (
        "merge_entry",
        "Fusion : fiche n° {from} → fiche n° {into}",
        "Merge: customer {from} → customer {into}",
    ),
    ("merge_undone", "annulée", "undone"),
    ("undo_merge", "Annuler la fusion", "Undo merge"),
    ("merge_done", "Fiches fusionnées.", "Customers merged."),
    ("undo_done", "Fusion annulée.", "Merge undone."),
    ("survey", "Enquête", "Survey"),
    ("open", "Ouvrir", "Open"),
    (
        "live_offline",
        "Temps réel déconnecté, reconnexion…",
        "Live updates offline, reconnecting…",
    ),
    ("live_online", "Temps réel connecté", "Live updates on"),
    ("queues", "Files", "Queues"),
    ("nav_campaigns", "Campagnes", "Campaigns"),
    (
        "new_campaign",
        "Nouvelle campagne d'appels",
        "New call campaign",
    ),
    ("campaign_name", "Nom de la campagne", "Campaign name"),
    ("dial_mode", "Mode de numérotation", "Dialling mode"),
    (
        "mode_progressive",
        "Progressif (un appel par agent libre)",
        "Progressive (one call per free agent)",
    ),
    (
        "mode_predictive",
        "Prédictif (taux d'abandon ≤ 3 %)",
        "Predictive (abandon rate ≤ 3 %)",
    ),
    (
        "mode_preview",
        "Aperçu (l'agent voit la fiche d'abord)",
        "Preview (the agent sees the record first)",
    ),
    ("calling_window", "Plages d'appel", "Calling window"),
    (
        "window_france",
        "France (décret 2022-1313)",
        "France (décret 2022-1313)",
    ),
    ("window_always", "Sans restriction", "Any time"),
    (
        "contact_list",
        "Liste de contacts (CSV ou Excel .xlsx)",
        "Contact list (CSV or Excel .xlsx)",
    ),
    (
        "contact_list_help",
        "Une colonne number (ou phone, telephone, msisdn) ; name, tz et consent facultatifs. Les lignes en erreur sont listées, les autres chargées.",
        "A number (or phone, telephone, msisdn) column; name, tz and consent optional. Bad rows are listed, the others loaded.",
    ),
    (
        "start_campaign",
        "Démarrer la campagne",
        "Start the campaign",
    ),
    (
        "running_campaigns",
        "Campagnes en cours",
        "Running campaigns",
    ),
    ("dialed", "Appels passés", "Dialled"),
    ("live_answers", "Décrochés", "Live answers"),
    ("connected", "Mis en relation", "Connected"),
    (
        "no_answer_busy",
        "Sans réponse / occupé",
        "No answer / busy",
    ),
    ("drop_rate", "Taux d'abandon", "Drop rate"),
    ("pause_campaign", "Mettre en pause", "Pause"),
    ("resume_campaign", "Reprendre", "Resume"),
    ("stop_campaign", "Arrêter", "Stop"),
    (
        "confirm_stop_campaign",
        "Confirmer l'arrêt (définitif)",
        "Confirm stop (final)",
    ),
    ("campaign_running", "En cours", "Running"),
    ("campaign_stopped", "Arrêtée", "Stopped"),
    ("paused", "En pause", "Paused"),
    (
        "campaign_name_required",
        "Donnez un nom à la campagne.",
        "Give the campaign a name.",
    ),
    (
        "contact_list_required",
        "Choisissez une liste de contacts (CSV ou .xlsx).",
        "Choose a contact list (CSV or .xlsx).",
    ),
    ("campaign_started", "Campagne démarrée", "Campaign started"),
    ("contacts_loaded", "contacts chargés", "contacts loaded"),
    ("rows_rejected", "lignes refusées", "rows rejected"),
    ("line", "Ligne", "Line"),
    ("agents", "Agents", "Agents"),
    ("waiting", "En attente", "Waiting"),
    ("incidents", "Incidents SLA", "SLA incidents"),
    ("no_incidents", "Aucun incident ouvert", "No open incident"),
    ("incident_category", "Catégorie", "Category"),
    ("incident_source", "Origine", "Source"),
    ("incident_opened", "Ouvert le", "Opened"),
    ("incident_deadline", "Échéance SLA", "SLA deadline"),
    ("incident_acknowledge", "Prendre en charge", "Acknowledge"),
    ("incident_resolve", "Résoudre", "Resolve"),
    ("longest_wait", "Attente max", "Longest wait"),
    ("sl", "Niveau de service", "Service level"),
    ("asa", "ASA", "ASA"),
    ("abandoned", "Abandons", "Abandoned"),
    (
        "agents_per_state",
        "Agents (dispo / occupés / post-appel / pause)",
        "Agents (available / busy / wrap-up / paused)",
    ),
    ("agent", "Agent", "Agent"),
    ("calls_today", "Appels du jour", "Calls today"),
    ("actions", "Actions", "Actions"),
    ("listen", "Écoute", "Listen"),
    ("whisper", "Chuchotement", "Whisper"),
    ("barge", "Intrusion", "Barge"),
    ("leave", "Quitter", "Leave"),
    ("take_over", "Reprendre l'appel", "Take over"),
    ("taken_over", "appel repris", "call taken over"),
    (
        "login_code",
        "Code de vérification (si activé)",
        "Verification code (if enabled)",
    ),
    (
        "code_required",
        "Ce compte demande aussi le code de votre application d'authentification (ou un code de secours).",
        "This account also needs the code from your authenticator app (or a recovery code).",
    ),
    ("monitoring", "Supervision", "Monitoring"),
    (
        "no_engine",
        "La téléphonie est désactivée sur ce nœud.",
        "Telephony is off on this node.",
    ),
    ("users", "Utilisateurs", "Users"),
    ("role", "Rôle", "Role"),
    ("name", "Nom", "Name"),
    ("strategy", "Stratégie", "Strategy"),
    ("code", "Code", "Code"),
    ("label", "Libellé", "Label"),
    ("dispositions", "Qualifications", "Dispositions"),
    ("disabled", "Désactivé", "Disabled"),
    ("yes", "oui", "yes"),
    ("accept", "Accepter", "Accept"),
    ("reject", "Refuser", "Reject"),
    ("transfer", "Transférer", "Transfer"),
    ("transfer_to", "Transférer vers", "Transfer to"),
    ("transferred", "Transféré vers", "Transferred to"),
    ("conversation", "Conversation", "Conversation"),
    (
        "in_conversation",
        "Conversation en cours",
        "In conversation",
    ),
    ("reply", "Réponse", "Reply"),
    ("send", "Envoyer", "Send"),
    ("sent", "Envoyé", "Sent"),
    ("customer_says", "Client", "Customer"),
    ("you_say", "Vous", "You"),
    ("new_task", "Nouvelle tâche", "New task"),
    ("campaign_call", "Appel de campagne", "Campaign call"),
    (
        "campaign_agents",
        "Conseillers libres / connectés",
        "Agents free / logged in",
    ),
    ("dial_level", "Niveau de numérotation", "Dial level"),
    ("attempt_number", "tentative n°", "attempt no."),
    (
        "preview_title",
        "Prochain appel de campagne",
        "Next campaign call",
    ),
    ("campaign", "Campagne", "Campaign"),
    ("call_now", "Appeler", "Call"),
    ("preview_skip", "Passer", "Skip"),
    ("auto_dial_in", "Appel automatique dans", "Auto-dial in"),
    ("recording", "Enregistrement", "Recording"),
    ("filter_queue", "Filtrer par file", "Filter by queue"),
    ("all_queues", "Toutes les files", "All queues"),
    (
        "current_interaction",
        "Interaction en cours",
        "Current interaction",
    ),
    ("since", "depuis", "since"),
    ("shown", "affichés", "shown"),
    ("edit", "Modifier", "Edit"),
    ("chat", "Messagerie interne", "Internal chat"),
    ("chat_room", "Salon", "Room"),
    ("chat_message", "Message", "Message"),
    ("chat_team", "Équipe", "Team"),
    ("chat_supervisors", "Superviseurs", "Supervisors"),
    ("chat_with", "Avec", "With"),
    ("chat_unread", "non lus", "unread"),
    ("edit_queue", "Modifier la file", "Edit queue"),
    ("save", "Enregistrer", "Save"),
    ("cancel", "Annuler", "Cancel"),
    ("add", "Ajouter", "Add"),
    ("new_user", "Nouvel utilisateur", "New user"),
    (
        "new_disposition",
        "Nouvelle qualification",
        "New disposition",
    ),
    (
        "required_skills",
        "Compétences requises (compétence:niveau, …)",
        "Required skills (skill:level, …)",
    ),
    (
        "sl_percent",
        "Objectif de niveau de service (%)",
        "Service level target (%)",
    ),
    (
        "sl_within_s",
        "Niveau de service : décroché en (s)",
        "Service level: answered within (s)",
    ),
    ("wrap_up_s", "Post-appel (s)", "Wrap-up (s)"),
    ("max_wait_s", "Attente max (s)", "Longest wait (s)"),
    ("ring_timeout_s", "Sonnerie max (s)", "Ring time-out (s)"),
    ("priority", "Priorité", "Priority"),
    (
        "fix_fields",
        "Certains champs sont à corriger : voir les messages à côté.",
        "Some fields need fixing: see the messages next to them.",
    ),
    (
        "monitor_hint",
        "Fait sonner votre poste, qui rejoint l'appel (4 écoute, 5 chuchotement, 6 intrusion)",
        "Rings your phone, which joins the call (4 listen, 5 whisper, 6 barge)",
    ),
    ("no", "non", "no"),
    ("edit_agent", "Modifier l'agent", "Edit agent"),
    ("login", "Identifiant", "Login"),
    (
        "applies_next_login",
        "Les changements s'appliquent à la prochaine connexion ACD de l'agent.",
        "Changes apply at the agent's next ACD login.",
    ),
    (
        "skills_levels",
        "Compétences et niveaux (compétence:niveau 1 à 10, …)",
        "Skills and levels (skill:level 1 to 10, …)",
    ),
    ("languages", "Langues (fr, en, …)", "Languages (fr, en, …)"),
    (
        "capacity_voice",
        "Appels simultanés (0 ou 1)",
        "Concurrent calls (0 or 1)",
    ),
    (
        "capacity_chat",
        "Conversations simultanées",
        "Concurrent chats",
    ),
    ("capacity_email", "E-mails simultanés", "Concurrent e-mails"),
    ("edit_user", "Modifier l'utilisateur", "Edit user"),
    (
        "reset_password",
        "Réinitialiser le mot de passe",
        "Reset password",
    ),
    (
        "new_password_once",
        "Nouveau mot de passe (affiché une seule fois) :",
        "New password (shown once):",
    ),
    (
        "new_phone_password",
        "Nouveau mot de passe du téléphone (SIP)",
        "New phone (SIP) password",
    ),
    (
        "edit_disposition",
        "Modifier la qualification",
        "Edit disposition",
    ),
    ("retired", "Retirée", "Retired"),
    (
        "retired_hint",
        "Une qualification retirée reste sur l'historique mais n'est plus proposée en post-appel.",
        "A retired disposition stays on past interactions but is no longer offered at wrap-up.",
    ),
    ("pause_reasons", "Motifs de pause", "Pause reasons"),
    (
        "new_pause_reason",
        "Nouveau motif (a-z, 0-9, _)",
        "New reason (a-z, 0-9, _)",
    ),
    ("remove", "Supprimer", "Remove"),
    (
        "knowledge_base",
        "Base de connaissances du chatbot",
        "Chatbot knowledge base",
    ),
    (
        "kb_hint",
        "Le chatbot répond avec ces articles ; une modification s'applique dès la question suivante.",
        "The chatbot answers from these articles; a change applies from the next question.",
    ),
    ("kb_id", "Identifiant de l'article", "Article id"),
    ("kb_question", "Question", "Question"),
    (
        "kb_questions",
        "Questions (une par ligne)",
        "Questions (one per line)",
    ),
    ("kb_answer", "Réponse", "Answer"),
    (
        "kb_tags",
        "Mots-clés (séparés par des virgules)",
        "Tags (comma-separated)",
    ),
    ("kb_self_service", "Selfcare", "Self-service"),
    ("kb_new", "Nouvel article", "New article"),
    ("skills", "Compétences", "Skills"),
    ("voice", "Voix", "Voice"),
    ("email", "E-mail", "E-mail"),
    ("nav_reports", "Rapports", "Reports"),
    ("nav_map", "Carte", "Map"),
    ("map_title", "Agents sur le terrain", "Agents in the field"),
    ("map_legend", "Légende des états", "State legend"),
    (
        "map_offline",
        "Fond de carte hors ligne (aucun serveur de tuiles configuré : [map] tile_url).",
        "Offline background (no tile server configured: [map] tile_url).",
    ),
    ("map_offline_short", "Fond hors ligne", "Offline background"),
    ("map_agents", "Dernières positions", "Latest positions"),
    ("map_last_seen", "Vu", "Seen"),
    ("map_accuracy", "Précision", "Accuracy"),
    ("map_day", "Jour", "Day"),
    ("map_show_track", "Afficher le trajet", "Show track"),
    ("map_age_s", "il y a {n} s", "{n} s ago"),
    ("map_age_min", "il y a {n} min", "{n} min ago"),
    ("map_age_h", "il y a {n} h", "{n} h ago"),
    ("map_updated", "Mis à jour à {time}", "Updated at {time}"),
    (
        "map_no_positions",
        "Aucun agent ne partage sa position.",
        "No agent shares their position.",
    ),
    (
        "map_track_points",
        "{n} position(s) le {date}",
        "{n} position(s) on {date}",
    ),
    (
        "map_no_track",
        "Aucune position le {date}",
        "No position on {date}",
    ),
    ("geo_share", "Partager ma position", "Share my position"),
    (
        "geo_hint",
        "Visible par les superviseurs tant que vous êtes connecté.",
        "Visible to supervisors while you are signed in.",
    ),
    (
        "geo_waiting",
        "Recherche de la position…",
        "Finding your position…",
    ),
    (
        "geo_sent",
        "Position partagée à {time} (± {m} m)",
        "Position shared at {time} (± {m} m)",
    ),
    ("geo_off", "Position non partagée.", "Position not shared."),
    (
        "geo_denied",
        "Le navigateur refuse l'accès à la position.",
        "The browser denies access to the position.",
    ),
    (
        "geo_unavailable",
        "Position indisponible.",
        "Position unavailable.",
    ),
    ("visit_check_in", "Visite terrain", "Field visit"),
    ("visit_notes", "Compte rendu de visite", "Visit report"),
    ("visit_done", "Visite enregistrée.", "Visit checked in."),
    ("visit", "Visite terrain", "Field visit"),
    (
        "offline",
        "Hors ligne : reconnexion…",
        "Offline: reconnecting…",
    ),
    ("draft_restored", "Brouillon restauré.", "Draft restored."),
    ("nav_wallboard", "Mur d'écrans", "Wallboard"),
    ("report_filters", "Période et filtres", "Period and filters"),
    ("report_from", "Du", "From"),
    ("report_to", "Au (exclu)", "To (excluded)"),
    ("report_tz", "Fuseau horaire", "Time zone"),
    ("report_interval", "Intervalle", "Interval"),
    ("report_dimension", "Par", "By"),
    ("interval_15min", "15 minutes", "15 minutes"),
    ("interval_hour", "Heure", "Hour"),
    ("interval_day", "Jour", "Day"),
    ("interval_week", "Semaine", "Week"),
    ("interval_month", "Mois", "Month"),
    ("channel", "Canal", "Channel"),
    ("report_show", "Afficher", "Show"),
    ("export_xlsx", "Exporter en Excel", "Export to Excel"),
    ("export_pdf", "Exporter en PDF", "Export to PDF"),
    ("report_charts", "Graphiques", "Charts"),
    (
        "chart_volume",
        "Présentés et décrochés par intervalle",
        "Offered and answered per interval",
    ),
    (
        "chart_sl",
        "Niveau de service par intervalle (%)",
        "Service level per interval (%)",
    ),
    ("report_table", "Indicateurs", "KPIs"),
    (
        "report_formulas",
        "Formules et paramètres",
        "Formulas and parameters",
    ),
    (
        "report_loading",
        "Calcul du rapport…",
        "Computing the report…",
    ),
    ("report_events", "événements lus", "events read"),
    ("offered", "Présentés", "Offered"),
    ("answered", "Décrochés", "Answered"),
    (
        "sl_today",
        "Niveau de service aujourd'hui",
        "Service level today",
    ),
    (
        "no_queue_yet",
        "Aucune file pour l'instant.",
        "No queue yet.",
    ),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn languages_parse_and_default_to_french() {
        assert_eq!(Lang::parse("EN"), Some(Lang::En));
        assert_eq!(Lang::parse("fr"), Some(Lang::Fr));
        assert_eq!(Lang::parse("de"), None);
        assert_eq!(Lang::default(), Lang::Fr);
        assert_eq!(Lang::Fr.t("sign_in"), "Se connecter");
        assert_eq!(Lang::En.t("sign_in"), "Sign in");
        assert_eq!(Lang::En.t("no such key"), "??");
    }

    #[test]
    fn keys_are_unique_and_translated() {
        for (i, (k, fr, en)) in STRINGS.iter().enumerate() {
            assert!(!fr.is_empty() && !en.is_empty(), "{k}");
            assert!(
                STRINGS[i + 1..].iter().all(|(k2, _, _)| k2 != k),
                "duplicate key {k}"
            );
        }
    }

    #[test]
    fn every_key_used_by_templates_and_scripts_exists() {
        let sources = [
            include_str!("../../templates/base.html"),
            include_str!("../../templates/login.html"),
            include_str!("../../templates/agent.html"),
            include_str!("../../templates/supervisor.html"),
            include_str!("../../templates/campaigns.html"),
            include_str!("../../assets/campaigns.js"),
            include_str!("../../templates/admin.html"),
            include_str!("../../templates/forbidden.html"),
            include_str!("../../templates/queue_edit.html"),
            include_str!("../../templates/agent_edit.html"),
            include_str!("../../templates/user_edit.html"),
            include_str!("../../templates/disposition_edit.html"),
            include_str!("../../templates/knowledge_base.html"),
            include_str!("../../templates/kb_article_edit.html"),
            include_str!("../../templates/chat.html"),
            include_str!("../../assets/chat.js"),
            include_str!("../../assets/agent.js"),
            include_str!("../../assets/merge.js"),
            include_str!("../../assets/supervisor.js"),
            include_str!("../../assets/common.js"),
            include_str!("../../templates/reports.html"),
            include_str!("../../assets/reports.js"),
            include_str!("../../templates/wallboard.html"),
            include_str!("../../assets/wallboard.js"),
            include_str!("../../templates/map.html"),
            include_str!("../../assets/map.js"),
            include_str!("../../assets/field.js"),
        ];
        let mut used = 0;
        for src in sources {
            // Templates call `lang.t("key")`; scripts call `t("key")`.
            // `errors.get("field")` names a form field, not a string.
            let parts: Vec<&str> = src.split("t(\"").collect();
            for (before, part) in parts.iter().zip(parts.iter().skip(1)) {
                if before.ends_with("ge") {
                    continue;
                }
                let key = part.split('"').next().unwrap_or_default();
                assert_ne!(Lang::En.t(key), "??", "missing key {key}");
                used += 1;
            }
        }
        assert!(used > 50, "found {used} uses");
    }

    #[test]
    fn json_is_safe_inside_a_script_element() {
        let j = Lang::En.json();
        assert!(!j.contains('<'));
        let v: serde_json::Value = serde_json::from_str(&j).unwrap();
        assert_eq!(v["hang_up"], "Hang up");
    }
}
