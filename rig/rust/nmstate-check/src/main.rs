//! Reads a desiredState (YAML or JSON: a NodeNetworkConfigurationPolicy's
//! spec.desiredState) on stdin and prints, as one JSON object on stdout, either
//! nmstate's refusal or the NetworkManager keyfiles nmstate would write for it,
//! as `nmstatectl gen_conf` does (NetworkState::new_from_yaml, then gen_conf, which
//! merges the state as nmstate does before applying it and validates it on the way):
//!
//!   {"ok": false, "kind": "InvalidArgument", "msg": "..."}          exit 1
//!   {"ok": true, "keyfiles": {"ens4vrf.nmconnection": "...", ...}}  exit 0
//!
//! Exit 2: the program was used wrongly (arguments, unreadable input).

use std::io::Read;
use std::process::ExitCode;

use nmstate::{NetworkState, NmstateError};
use serde_json::{Map, Value, json};

fn check(desired_text: &str) -> Result<Value, NmstateError> {
    let desired = NetworkState::new_from_yaml(desired_text)?;
    let mut keyfiles = Map::new();
    for (_backend, files) in desired.gen_conf()? {
        for (name, content) in files {
            keyfiles.insert(name, Value::String(content));
        }
    }
    Ok(json!({"ok": true, "keyfiles": keyfiles}))
}

fn main() -> ExitCode {
    if std::env::args().len() > 1 {
        eprintln!("usage: nmstate-check < desired-state.yaml");
        return ExitCode::from(2);
    }
    let mut desired_text = String::new();
    if let Err(error) = std::io::stdin().read_to_string(&mut desired_text) {
        eprintln!("nmstate-check: cannot read stdin: {error}");
        return ExitCode::from(2);
    }
    match check(&desired_text) {
        Ok(verdict) => {
            println!("{verdict}");
            ExitCode::SUCCESS
        }
        Err(error) => {
            let refusal = json!({"ok": false, "kind": error.kind().to_string(), "msg": error.msg()});
            println!("{refusal}");
            ExitCode::from(1)
        }
    }
}
