//! Secrets and ids through `check-config` and the environment: all-digit values stay strings and are
//! never printed; `file:` works for every secret-bearing key.

use std::process::{Command, Output};

fn warroom() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_warroom"));
    for (key, _) in std::env::vars() {
        if key.starts_with("WARROOM_") {
            cmd.env_remove(key);
        }
    }
    cmd
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn check(file: &std::path::Path, env: &[(&str, &str)]) -> Output {
    let mut cmd = warroom();
    cmd.arg("check-config").arg(file);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

#[test]
fn all_digit_secrets_and_ids_from_the_environment_are_strings() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("warroom.toml");
    std::fs::write(&file, "[server]\nlisten = \"127.0.0.1:9999\"\n").unwrap();
    let out = check(
        &file,
        &[
            ("WARROOM_SLACK__SIGNING_SECRET", "123456"),
            ("WARROOM_SLACK__BOT_TOKEN", "000123"),
            ("WARROOM_DISCORD__APPLICATION_ID", "900000000000000010"),
            ("WARROOM_DISCORD__GUILD_ID", "900000000000000011"),
            ("WARROOM_INGEST__ALERTS__TOKEN", "4242"),
            ("WARROOM_SERVER__MAX_BODY_BYTES", "65536"),
        ],
    );
    let all = text(&out);
    assert_eq!(out.status.code(), Some(0), "{all}");
    assert!(!all.contains("123456"), "{all}");

    // A number where a number belongs is still checked, and named.
    let out = check(&file, &[("WARROOM_SERVER__MAX_BODY_BYTES", "lots")]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out).contains("server.max_body_bytes"),
        "{}",
        text(&out)
    );
}

#[test]
fn a_mistyped_secret_is_named_but_not_printed() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("warroom.toml");
    std::fs::write(
        &file,
        "[slack]\nsigning_secret = [987654321]\nbot_token = \"xoxb-1\"\n",
    )
    .unwrap();
    let out = check(&file, &[]);
    let all = text(&out);
    assert_eq!(out.status.code(), Some(2), "{all}");
    assert!(all.contains("slack.signing_secret"), "{all}");
    assert!(!all.contains("987654321"), "{all}");
}

#[test]
fn numeric_secrets_and_ids_in_the_file_are_strings() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("warroom.toml");
    std::fs::write(
        &file,
        "[server]\nlisten = \"127.0.0.1:9999\"\n\
         [slack]\nsigning_secret = 987654321\nbot_token = 12345\nannounce_channel = 42\n\
         [discord]\nbot_token = 777\napplication_id = 900000000000000010\n\
         public_key = 1234567890123456789\nguild_id = 900000000000000011\n\
         category_id = 900000000000000012\nannounce_channel = 900000000000000013\n\
         [ingest.alerts]\ntoken = 4242\n[api]\ntokens = [1111, \"abc\"]\n",
    )
    .unwrap();
    let out = check(&file, &[]);
    let all = text(&out);
    // Every number was taken as a string: the only complaint is the public key's shape (19 digits
    // are not 64 hex characters), and no value is printed.
    assert_eq!(out.status.code(), Some(2), "{all}");
    assert!(all.contains("discord.public_key: must be"), "{all}");
    for key in [
        "slack.signing_secret",
        "slack.bot_token",
        "discord.bot_token",
        "discord.application_id",
        "discord.guild_id",
        "discord.category_id",
        "discord.announce_channel",
        "ingest.alerts.token",
        "api.tokens",
    ] {
        assert!(!all.contains(key), "{key}: {all}");
    }
    assert!(
        !all.contains("987654321") && !all.contains("1234567890123456789"),
        "{all}"
    );
}

#[test]
fn every_discord_key_from_the_environment_is_a_string() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("warroom.toml");
    std::fs::write(&file, "[server]\nlisten = \"127.0.0.1:9999\"\n").unwrap();
    let key = "1".repeat(64);
    let out = check(
        &file,
        &[
            ("WARROOM_DISCORD__BOT_TOKEN", "31415926"),
            ("WARROOM_DISCORD__APPLICATION_ID", "900000000000000010"),
            ("WARROOM_DISCORD__PUBLIC_KEY", &key),
            ("WARROOM_DISCORD__GUILD_ID", "900000000000000011"),
            ("WARROOM_DISCORD__CATEGORY_ID", "900000000000000012"),
            ("WARROOM_DISCORD__ANNOUNCE_CHANNEL", "900000000000000013"),
            ("WARROOM_DISCORD__ROOM", "thread"),
        ],
    );
    let all = text(&out);
    assert_eq!(out.status.code(), Some(0), "{all}");
    assert!(!all.contains("31415926"), "{all}");
}

#[test]
fn file_references_work_for_secrets_and_the_database_url() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, body: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, body).unwrap();
        format!("file:{}", p.display())
    };
    let db = write(
        "db-url",
        &format!("sqlite://{}\n", dir.path().join("w.db").display()),
    );
    let signing = write("signing", "123456\n");
    let hook = write("hook", "Bearer s3cr3t\n");
    let pd = write("pd", "R0UTING\n");
    let file = dir.path().join("warroom.toml");
    std::fs::write(
        &file,
        format!(
            "[server]\nlisten = \"127.0.0.1:9999\"\n[ingest.pagerduty.routing_keys]\n\"{pd}\" = \"checkout\"\n\
             [changes.rollback.checkout]\nurl = \"https://deploy.example/rb\"\nheaders = {{ Authorization = \"{hook}\" }}\n"
        ),
    )
    .unwrap();
    let out = check(
        &file,
        &[
            ("WARROOM_DATABASE__URL", &db),
            ("WARROOM_SLACK__SIGNING_SECRET", &signing),
            ("WARROOM_SLACK__BOT_TOKEN", "xoxb-1"),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));

    let out = check(
        &file,
        &[("WARROOM_DATABASE__URL", "file:/nonexistent/db-url")],
    );
    let all = text(&out);
    assert_eq!(out.status.code(), Some(2), "{all}");
    assert!(all.contains("database.url: cannot read"), "{all}");
}

#[test]
fn numeric_discord_ids_in_the_file_are_strings() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("warroom.toml");
    std::fs::write(
        &file,
        "[discord]\napplication_id = 900000000000000010\nguild_id = 900000000000000011\n",
    )
    .unwrap();
    let out = check(&file, &[]);
    let all = text(&out);
    assert!(!all.contains("application_id"), "{all}");
    assert!(!all.contains("guild_id"), "{all}");
}
