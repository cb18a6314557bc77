//! Completions and man pages come from the clap definitions: every visible command, and every
//! long option of it, must appear in each shell's script and in a page of its own. The list of
//! commands is read from clap, so a command added later is checked without touching this file.

mod common;

use clap::CommandFactory;
use common::{Sandbox, text};
use jira_auth::cli::Cli;

/// A visible command at any depth: its words after `jira-auth`, and its visible long options.
struct Listed {
    path: Vec<String>,
    longs: Vec<String>,
}

fn visible_commands() -> Vec<Listed> {
    fn walk(command: &clap::Command, path: &[String], found: &mut Vec<Listed>) {
        for sub in command.get_subcommands().filter(|s| !s.is_hide_set()) {
            let mut path = path.to_vec();
            path.push(sub.get_name().to_owned());
            let longs = sub
                .get_arguments()
                .filter(|a| !a.is_hide_set())
                .filter_map(|a| a.get_long().map(str::to_owned))
                .collect();
            found.push(Listed {
                path: path.clone(),
                longs,
            });
            walk(sub, &path, found);
        }
    }
    let mut root = Cli::command().disable_help_subcommand(true);
    root.build();
    let mut found = Vec::new();
    walk(&root, &[], &mut found);
    found
}

fn completion_script(sandbox: &Sandbox, shell: &str) -> String {
    let out = sandbox.run(&["completions", shell], "");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let script = text(&out.stdout);
    assert!(script.len() > 1000, "a {shell} script, not {script:?}");
    script
}

#[test]
fn every_command_and_option_is_in_each_completion_script() {
    let commands = visible_commands();
    assert!(
        commands.len() >= 12,
        "clap lists the commands: {}",
        commands.len()
    );
    let sandbox = Sandbox::new();
    let scripts = [
        ("bash", completion_script(&sandbox, "bash")),
        ("zsh", completion_script(&sandbox, "zsh")),
        ("fish", completion_script(&sandbox, "fish")),
    ];
    for listed in &commands {
        let name = listed.path.last().expect("a name");
        for (shell, script) in &scripts {
            // How each generator names a command it offers.
            let offered = match *shell {
                "bash" => format!(",{name})"),
                "zsh" => format!("'{name}:"),
                _ => format!("-a \"{name}\""),
            };
            assert!(
                script.contains(&offered),
                "the {shell} script does not offer `{}`",
                listed.path.join(" ")
            );
            for long in &listed.longs {
                let option = match *shell {
                    "fish" => format!("-l {long}"),
                    _ => format!("--{long}"),
                };
                assert!(
                    script.contains(&option),
                    "the {shell} script does not complete `{} --{long}`",
                    listed.path.join(" ")
                );
            }
        }
    }
    assert_eq!(
        sandbox.run(&["completions", "tcsh"], "").status.code(),
        Some(2)
    );
}

#[test]
fn every_command_has_a_man_page_listing_its_options() {
    let sandbox = Sandbox::new();
    let dir = sandbox.root.path().join("man");
    let out = sandbox.run(&["manpages", &dir.display().to_string()], "");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    // roff escapes every dash; the reader sees plain ones.
    let page = |stem: &str| -> String {
        let path = dir.join(format!("{stem}.1"));
        std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("no man page {}: {e}", path.display()))
            .replace("\\-", "-")
    };
    let root = page("jira-auth");
    for section in ["ENVIRONMENT", "FILES", "EXIT STATUS", "EXAMPLES"] {
        assert!(root.contains(&format!(".SH {section}")), "no {section}");
    }
    for (variable, _) in jira_auth::cli::docs::ENVIRONMENT {
        assert!(root.contains(variable), "{variable} is not on the page");
    }
    let commands = visible_commands();
    for listed in &commands {
        let stem = format!("jira-auth-{}", listed.path.join("-"));
        let own = page(&stem);
        for long in &listed.longs {
            assert!(
                own.contains(&format!("--{long}")),
                "{stem}.1 does not describe --{long}"
            );
        }
        let parent = match &listed.path[..listed.path.len() - 1] {
            [] => "jira-auth".to_owned(),
            words => format!("jira-auth-{}", words.join("-")),
        };
        assert!(
            page(&parent).contains(&format!("{stem}(1)")),
            "{parent}.1 does not point to {stem}(1)"
        );
    }
    let written = std::fs::read_dir(&dir).expect("man dir").count();
    assert_eq!(
        written,
        commands.len() + 1,
        "one page per command and none for hidden ones or help"
    );
}

#[test]
fn the_readme_environment_table_and_the_man_page_name_the_same_variables() {
    let readme = include_str!("../README.md");
    let table: String = readme
        .split("## Environment")
        .nth(1)
        .and_then(|rest| rest.split("\n## ").next())
        .expect("README has an Environment section")
        .to_owned();
    let documented: Vec<&str> = jira_auth::cli::docs::ENVIRONMENT
        .iter()
        .flat_map(|(names, _)| names.split(", "))
        .collect();
    let mut checked = 0;
    for line in table.lines().filter(|l| l.starts_with("| `")) {
        for name in line.split('`').skip(1).step_by(2) {
            if name.chars().all(|c| c.is_ascii_uppercase() || c == '_') {
                checked += 1;
                assert!(
                    documented.contains(&name),
                    "README names {name}, the man page does not"
                );
            }
        }
    }
    assert!(checked >= 8, "read the README's table: {checked} names");
}
