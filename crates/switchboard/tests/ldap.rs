//! LDAP login against a real OpenLDAP `slapd` (Debian) that the test starts
//! in its own directory on a free loopback port (issue 18): a directory user
//! gets a local record with the role of their group on first login, a wrong
//! password is refused and counted by the brute-force limiter, a user in no
//! mapped group is refused, an unreachable directory answers 503 (audited)
//! while local accounts keep working.

mod common;

use iam::directory::{GroupRole, LdapSettings};
use serde_json::{Value, json};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use store::{AuditAction, AuditFilter};

const BASE: &str = "dc=example,dc=org";

/// A running slapd; killed on drop.
struct Slapd {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Drop for Slapd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn ssha(password: &str) -> String {
    let out = Command::new("slappasswd")
        .args(["-s", password])
        .output()
        .expect("slappasswd (Debian ldap: slapd) is installed by scripts/test");
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

fn start_slapd() -> Slapd {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    std::fs::create_dir(&db).unwrap();
    let conf = dir.path().join("slapd.conf");
    std::fs::write(
        &conf,
        format!(
            "include /etc/ldap/schema/core.schema\n\
             include /etc/ldap/schema/cosine.schema\n\
             include /etc/ldap/schema/inetorgperson.schema\n\
             pidfile {pid}\n\
             modulepath /usr/lib/ldap\n\
             moduleload back_mdb\n\
             database mdb\n\
             suffix \"{BASE}\"\n\
             rootdn \"cn=admin,{BASE}\"\n\
             rootpw {root}\n\
             directory {db}\n\
             access to attrs=userPassword by self read by anonymous auth by * none\n\
             access to * by users read by * none\n",
            pid = dir.path().join("slapd.pid").display(),
            root = ssha("root secret"),
            db = db.display(),
        ),
    )
    .unwrap();
    let person = |uid: &str, pw: &str| {
        format!(
            "dn: uid={uid},ou=people,{BASE}\nobjectClass: inetOrgPerson\nuid: {uid}\ncn: {uid}\nsn: {uid}\nuserPassword: {}\n\n",
            ssha(pw)
        )
    };
    let group = |cn: &str, members: &[&str]| {
        let m: String = members
            .iter()
            .map(|u| format!("member: uid={u},ou=people,{BASE}\n"))
            .collect();
        format!("dn: cn={cn},ou=groups,{BASE}\nobjectClass: groupOfNames\ncn: {cn}\n{m}\n")
    };
    let ldif = format!(
        "dn: {BASE}\nobjectClass: dcObject\nobjectClass: organization\ndc: example\no: Example\n\n\
         dn: ou=people,{BASE}\nobjectClass: organizationalUnit\nou: people\n\n\
         dn: ou=groups,{BASE}\nobjectClass: organizationalUnit\nou: groups\n\n\
         {}{}{}{}{}",
        person("ana", "ana directory pw"),
        person("boris", "boris directory pw"),
        person("eve", "eve directory pw"),
        group("agents", &["ana", "boris"]),
        group("supervisors", &["boris"]),
    );
    let ldif_path = dir.path().join("base.ldif");
    std::fs::write(&ldif_path, ldif).unwrap();
    let out = Command::new("slapadd")
        .arg("-f")
        .arg(&conf)
        .arg("-l")
        .arg(&ldif_path)
        .output()
        .expect("slapadd");
    assert!(
        out.status.success(),
        "slapadd: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new("/usr/sbin/slapd")
        .arg("-f")
        .arg(&conf)
        .arg("-h")
        .arg(format!("ldap://127.0.0.1:{port}/"))
        .args(["-d", "0"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("slapd");
    // Ready when it accepts connections (deadline 10 s).
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "slapd did not start listening");
        std::thread::sleep(Duration::from_millis(20));
    }
    Slapd {
        child,
        port,
        _dir: dir,
    }
}

fn ldap_settings(port: u16) -> LdapSettings {
    LdapSettings {
        url: format!("ldap://127.0.0.1:{port}"),
        bind_dn: format!("cn=admin,{BASE}"),
        bind_password: "root secret".into(),
        user_base: format!("ou=people,{BASE}"),
        user_filter: "(uid={username})".into(),
        group_roles: vec![
            GroupRole {
                group: format!("cn=supervisors,ou=groups,{BASE}"),
                role: domain::Role::Supervisor,
            },
            GroupRole {
                group: format!("cn=agents,ou=groups,{BASE}"),
                role: domain::Role::Agent,
            },
        ],
        timeout_ms: 2_000,
    }
}

#[tokio::test]
async fn slapd_login_roles_limiter_and_outage() {
    let mut slapd = start_slapd();
    let port = slapd.port;
    let s = common::start_with(false, |s| {
        s.auth.ldap = Some(ldap_settings(port));
        s.auth.limiter.free_failures = 10;
        s.auth.limiter.lockout_after = 3;
    })
    .await;
    let login = |u: &str, p: &str| {
        s.http
            .post(s.url("/api/v1/auth/login"))
            .json(&json!({"username": u, "password": p}))
            .send()
    };
    // First login creates the local user with the role of the first mapped group.
    let r = login("ana", "ana directory pw").await.unwrap();
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["user"]["role"], "agent", "{body}");
    let ana_id = body["user"]["id"].clone();
    let r = login("boris", "boris directory pw").await.unwrap();
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["user"]["role"], "supervisor", "{body}");
    // Second login: the same local user.
    let r = login("ana", "ana directory pw").await.unwrap();
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["user"]["id"], ana_id);
    // In no mapped group, unknown, filter injection: refused.
    assert_eq!(
        login("eve", "eve directory pw").await.unwrap().status(),
        401
    );
    assert_eq!(login("nobody", "x").await.unwrap().status(), 401);
    assert_eq!(login("*", "ana directory pw").await.unwrap().status(), 401);
    assert_eq!(login("ana", "").await.unwrap().status(), 401);
    // Wrong directory passwords are counted: 3 lock the account.
    for _ in 0..2 {
        assert_eq!(login("ana", "wrong").await.unwrap().status(), 401);
    }
    assert_eq!(
        login("ana", "ana directory pw").await.unwrap().status(),
        429,
        "locked after 3 failures (empty password included)"
    );
    // A local account still works.
    s.login("admin").await;

    // Directory down: a clear 503, audited; local accounts still work.
    let _ = slapd.child.kill();
    let _ = slapd.child.wait();
    let r = login("boris", "boris directory pw").await.unwrap();
    assert_eq!(r.status(), 503);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "directory_unavailable", "{body}");
    s.login("supervisor").await;

    let url = format!("sqlite://{}/switchboard.db", s.dir.path().display());
    let st = store::open(&url).await.unwrap();
    let list = |a: AuditAction| {
        let st = &st;
        async move {
            st.list_audit(&AuditFilter {
                action: Some(a),
                ..Default::default()
            })
            .await
            .unwrap()
        }
    };
    let created = list(AuditAction::UserCreated).await;
    let via_ldap: Vec<_> = created
        .iter()
        .filter(|e| e.after.as_deref().is_some_and(|a| a.contains("\"ldap\"")))
        .collect();
    assert_eq!(via_ldap.len(), 2, "ana and boris: {created:?}");
    let failed = list(AuditAction::LoginFailed).await;
    assert!(
        failed.iter().any(|e| e.target == "login:boris"
            && e.after
                .as_deref()
                .is_some_and(|a| a.contains("directory_unavailable"))),
        "{failed:?}"
    );
    assert_eq!(list(AuditAction::Lockout).await.len(), 1);
    s.shutdown().await;
}

/// The README's `[auth.ldap]` block loads into the settings.
#[test]
fn ldap_settings_load_from_toml() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("switchboard.toml");
    std::fs::write(
        &file,
        r#"
[auth.ldap]
url = "ldap://dc1.example.org:389"
bind_dn = "cn=switchboard,ou=services,dc=example,dc=org"
bind_password = "pw"
user_base = "ou=people,dc=example,dc=org"
user_filter = "(sAMAccountName={username})"
group_roles = [
  { group = "cn=supervisors,ou=groups,dc=example,dc=org", role = "supervisor" },
  { group = "cn=agents,ou=groups,dc=example,dc=org", role = "agent" },
]
"#,
    )
    .unwrap();
    let s = switchboard::settings::Settings::load(Some(&file)).unwrap();
    let l = s.auth.ldap.expect("[auth.ldap] loaded");
    assert_eq!(l.user_filter, "(sAMAccountName={username})");
    assert_eq!(l.timeout_ms, 5_000, "default");
    assert_eq!(l.group_roles[1].role, domain::Role::Agent);
    assert_eq!(
        l.group_roles[0].group,
        "cn=supervisors,ou=groups,dc=example,dc=org"
    );
}
