//! Reads a desiredState (YAML or JSON: a NodeNetworkConfigurationPolicy's
//! spec.desiredState) on stdin and prints, as one JSON object on stdout, either
//! nmstate's refusal or the NetworkManager keyfiles nmstate would write for it:
//!
//!   {"ok": false, "kind": "InvalidArgument", "msg": "..."}          exit 1
//!   {"ok": true, "keyfiles": {"ens4vrf.nmconnection": "...", ...}}  exit 0
//!
//! With `--current FILE` (a state the node has: its interfaces as nmstate reports
//! them), the desiredState is first merged with it as `nmstatectl apply` does before
//! touching the host (MergedNetworkState::new, NetworkStateMode::Apply), which is
//! where nmstate refuses a state that does not fit the node. The keyfiles are always
//! generated as `nmstatectl gen_conf` does (NetworkState::gen_conf).
//! Exit 2: the program was used wrongly (unreadable input or arguments).

use std::io::Read;
use std::process::ExitCode;

use nmstate::{MergedNetworkState, NetworkState, NetworkStateMode, NmstateError};
use serde_json::{Map, Value, json};

fn refusal(error: &NmstateError) -> Value {
    json!({"ok": false, "kind": error.kind().to_string(), "msg": error.msg()})
}

fn check(desired_text: &str, current_text: Option<&str>) -> Result<Value, NmstateError> {
    let desired = NetworkState::new_from_yaml(desired_text)?;
    if let Some(current_text) = current_text {
        let current = NetworkState::new_from_yaml(current_text)?;
        MergedNetworkState::new(desired.clone(), current, NetworkStateMode::Apply, false)?;
    }
    let mut keyfiles = Map::new();
    for (_backend, files) in desired.gen_conf()? {
        for (name, content) in files {
            keyfiles.insert(name, Value::String(content));
        }
    }
    Ok(json!({"ok": true, "keyfiles": keyfiles}))
}

fn usage(message: &str) -> ExitCode {
    eprintln!("nmstate-check: {message}");
    eprintln!("usage: nmstate-check [--current FILE] < desired-state.yaml");
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let current_text = match args.as_slice() {
        [] => None,
        [flag, path] if flag == "--current" => match std::fs::read_to_string(path) {
            Ok(text) => Some(text),
            Err(error) => return usage(&format!("cannot read {path}: {error}")),
        },
        _ => return usage("unexpected arguments"),
    };
    let mut desired_text = String::new();
    if let Err(error) = std::io::stdin().read_to_string(&mut desired_text) {
        return usage(&format!("cannot read stdin: {error}"));
    }
    let (verdict, code) = match check(&desired_text, current_text.as_deref()) {
        Ok(verdict) => (verdict, 0),
        Err(error) => (refusal(&error), 1),
    };
    println!("{verdict}");
    ExitCode::from(code)
}
