//! What the CLI says about itself: `--version` names the commit, completion
//! scripts load in their shell, man pages render.

use std::{
    io::Write,
    process::{Command, Stdio},
};

use tracer_tests::*;

/// Every subcommand, as the completions and man pages must know them.
const COMMANDS: &[&str] = &[
    "runqlat",
    "execsnoop",
    "exitsnoop",
    "tcplife",
    "gethostlatency",
    "tcprtt",
    "tcptop",
    "tcpconnect",
    "tcpconnlat",
    "tcpstates",
    "tcpretrans",
    "fsslower",
    "ext4slower",
    "fsdist",
    "ext4dist",
    "xfsdist",
    "btrfsdist",
    "filetop",
    "vfsstat",
    "cachestat",
    "biolatency",
    "profile",
    "offcputime",
    "use",
    "syscount",
    "opensnoop",
    "statsnoop",
    "syncsnoop",
    "mountsnoop",
    "filelife",
    "cpudist",
    "hardirqs",
    "softirqs",
    "runqlen",
    "tcpdrop",
    "tcpsynbl",
    "tcpaccept",
    "bindsnoop",
    "solisten",
    "runqslower",
    "sigsnoop",
    "killsnoop",
    "oomkill",
    "doctor",
    "merge",
    "completions",
    "manpage",
];

fn stdout_of(args: &[&str]) -> String {
    let output = run_tracer(args);
    assert!(output.status.success(), "{args:?}: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn version_names_the_commit_it_was_built_from() {
    let head =
        Command::new("git").args(["rev-parse", "--short=7", "HEAD"]).current_dir(env!("CARGO_MANIFEST_DIR")).output();
    let commit = match head {
        Ok(output) if output.status.success() => String::from_utf8(output.stdout).unwrap().trim().to_string(),
        _ => "unknown commit".to_string(),
    };
    let expected = format!("tracer {} ({commit})\n", env!("CARGO_PKG_VERSION"));
    assert_eq!(stdout_of(&["--version"]), expected);
    assert_eq!(stdout_of(&["-V"]), expected);
}

#[test]
fn bash_completion_loads_and_completes_every_command() {
    let script = stdout_of(&["completions", "bash"]);
    // Load it into bash, then ask it to complete `tracer ` and `tracer runqlat --p`.
    let mut bash = Command::new("bash")
        .arg("--norc")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let probe = r#"
complete -p tracer
COMP_WORDS=(tracer ""); COMP_CWORD=1; COMP_LINE="tracer "; COMP_POINT=${#COMP_LINE}
_tracer tracer "" tracer; echo "commands: ${COMPREPLY[*]}"
COMP_WORDS=(tracer runqlat --pi); COMP_CWORD=2; COMP_LINE="tracer runqlat --pi"; COMP_POINT=${#COMP_LINE}
_tracer tracer --pi runqlat; echo "flags: ${COMPREPLY[*]}"
"#;
    let mut stdin = bash.stdin.take().unwrap();
    stdin.write_all(script.as_bytes()).unwrap();
    stdin.write_all(probe.as_bytes()).unwrap();
    drop(stdin);
    let output = bash.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && output.stderr.is_empty(),
        "{stdout} {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("-F _tracer tracer"), "{stdout}");
    let commands = stdout.lines().find_map(|line| line.strip_prefix("commands: ")).expect("commands line");
    for command in COMMANDS {
        assert!(commands.split(' ').any(|word| word == *command), "{command} not completed: {commands}");
    }
    let flags = stdout.lines().find_map(|line| line.strip_prefix("flags: ")).expect("flags line");
    assert!(flags.split(' ').any(|word| word == "--pid") && flags.split(' ').any(|word| word == "--pidnss"), "{flags}");
}

#[test]
fn zsh_and_fish_completions_name_every_command() {
    let zsh = stdout_of(&["completions", "zsh"]);
    assert!(zsh.starts_with("#compdef tracer"), "{zsh}");
    let fish = stdout_of(&["completions", "fish"]);
    assert!(fish.contains("complete -c tracer"), "{fish}");
    for command in COMMANDS {
        assert!(zsh.contains(&format!("'{command}:")), "zsh lacks {command}");
        assert!(fish.contains(&format!("-a \"{command}\"")), "fish lacks {command}");
    }
}

#[test]
fn man_pages_render_for_tracer_and_every_command() {
    let page = stdout_of(&["manpage"]);
    assert!(page.contains(".TH tracer 1"), "{page}");
    let dir = std::env::temp_dir().join(unique("man"));
    stdout_of(&["manpage", "--dir", dir.to_str().unwrap()]);
    let pages = std::iter::once("tracer".to_string()).chain(COMMANDS.iter().map(|c| format!("tracer-{c}")));
    for name in pages {
        let path = dir.join(format!("{name}.1"));
        let rendered = Command::new("groff").args(["-man", "-Tutf8", "-ww", "-P-cbou"]).arg(&path).output().unwrap();
        let text = String::from_utf8_lossy(&rendered.stdout);
        assert!(rendered.status.success(), "{name}: {}", String::from_utf8_lossy(&rendered.stderr));
        assert!(rendered.stderr.is_empty(), "{name}: groff warned: {}", String::from_utf8_lossy(&rendered.stderr));
        assert!(text.contains("NAME") && text.contains("SYNOPSIS") && text.contains(&name), "{name}: {text}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bad_shells_and_unwritable_directories_are_one_line_errors() {
    for args in [["completions", "nosh"].as_slice(), &["manpage", "--dir", "/proc/no/such/dir"]] {
        let output = run_tracer(args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr:?}");
        assert!(stderr.starts_with("tracer: "), "{stderr}");
    }
}
