//! `kiln secret ...`: the secrets of environments, which secret params name. Values are
//! encrypted in the app with age, or named by where they come from at apply; no verb prints
//! one (`kiln show --reveal-secrets` does, placed in their Secrets).

use std::io::{IsTerminal, Read};
use std::process::ExitCode;

use zeroize::Zeroizing;

use crate::cli::{Output, Printer, table};
use crate::secrets::store::{self, Input};
use crate::session::{Session, Settings};

/// The long help of `kiln secret set`.
const SET_HELP: &str = "Store a secret of an environment, which secret params name \
    (`kiln param set COMPONENT PARAM NAME`). The value is read from the terminal without \
    echo, or from standard input when it is not a terminal (one trailing newline removed), \
    never from an argument, which would land in the shell's history; it is encrypted with age \
    to the environment's recipients into `secrets/ENV.toml`, which is safe to commit. \
    `--from-env VAR` and `--from-file PATH` store no value, only where `apply` reads it, for CI \
    systems that inject secrets so.";

/// The long help of `kiln secret keygen`.
const KEYGEN_HELP: &str = "Create an age identity (a key pair) for decrypting secrets and print \
    its public key, the recipient to give `kiln secret recipient add`. Written to \
    $KILN_AGE_IDENTITY, else ~/.config/kiln/age/keys.txt, readable by you only; an existing \
    file is never overwritten. Identities made by `age-keygen` work as well.";

/// `kiln secret` verbs.
#[derive(Debug, clap::Subcommand)]
#[command(defer = true)]
pub enum Command {
    /// Store a secret's value, encrypted, or where it comes from at apply.
    #[command(long_about = SET_HELP)]
    Set(SetArgs),
    /// List an environment's secrets and recipients, never a value.
    List(ListArgs),
    /// Forget a secret.
    Rm(RmArgs),
    /// Add or remove who can decrypt an environment's secrets.
    #[command(subcommand)]
    Recipient(RecipientCommand),
    /// Create an age identity and print its recipient.
    #[command(long_about = KEYGEN_HELP)]
    Keygen(KeygenArgs),
}

/// `kiln secret recipient` verbs.
#[derive(Debug, clap::Subcommand)]
#[command(defer = true)]
pub enum RecipientCommand {
    /// Add a recipient (`age1...`) and re-encrypt the environment's secrets to it.
    Add(RecipientArgs),
    /// Remove a recipient and re-encrypt the environment's secrets without it.
    Rm(RecipientArgs),
}

impl Command {
    /// Run the verb.
    pub fn run(self, printer: &Printer) -> anyhow::Result<ExitCode> {
        match self {
            Command::Set(a) => set(a, printer),
            Command::List(a) => list(a, printer),
            Command::Rm(a) => rm(a, printer),
            Command::Recipient(RecipientCommand::Add(a)) => recipient(a, true, printer),
            Command::Recipient(RecipientCommand::Rm(a)) => recipient(a, false, printer),
            Command::Keygen(a) => keygen(a, printer),
        }
    }
}

#[derive(Debug, clap::Args)]
pub struct SetArgs {
    /// The environment.
    env: String,
    /// The secret's name (lowercase letters, digits, `-`, `_`, `.`).
    name: String,
    /// Store no value: read it at apply from this variable of the process environment.
    #[arg(long, value_name = "VAR", conflicts_with = "from_file")]
    from_env: Option<String>,
    /// Store no value: read it at apply from this file.
    #[arg(long, value_name = "PATH")]
    from_file: Option<String>,
}

fn session(printer: &Printer) -> anyhow::Result<Session<'_>> {
    Ok(Session::new(Some(super::open_app()?), Settings::default(), printer))
}

/// Run `kiln secret set`.
fn set(args: SetArgs, printer: &Printer) -> anyhow::Result<ExitCode> {
    let session = session(printer)?;
    let input = match (args.from_env, args.from_file) {
        (Some(var), _) => Input::Env(var),
        (_, Some(path)) => Input::File(path),
        (None, None) => Input::Value(read_value(&args.env, &args.name)?),
    };
    let what = match &input {
        Input::Value(_) => "encrypted".to_string(),
        Input::Env(var) => format!("read at apply from ${var}"),
        Input::File(path) => format!("read at apply from {path}"),
    };
    session.set_secret(&args.env, &args.name, input)?;
    printer.note(&format!("set secret `{}` of `{}` ({what})", args.name, args.env));
    Ok(ExitCode::SUCCESS)
}

/// The value, from the terminal without echo or from standard input.
fn read_value(env: &str, name: &str) -> anyhow::Result<Zeroizing<String>> {
    let value = if std::io::stdin().is_terminal() {
        Zeroizing::new(rpassword::prompt_password(format!("value of `{name}` for `{env}`: "))?)
    } else {
        let mut value = Zeroizing::new(String::new());
        std::io::stdin().read_to_string(&mut value)?;
        if value.ends_with('\n') {
            value.pop();
            if value.ends_with('\r') {
                value.pop();
            }
        }
        value
    };
    anyhow::ensure!(!value.is_empty(), "no value given for secret `{name}`: nothing was stored");
    Ok(value)
}

#[derive(Debug, clap::Args)]
pub struct ListArgs {
    /// The environment.
    env: String,
    /// Output format: tables, or (`json`) one object with `recipients` and `secrets`.
    #[arg(short, long, value_enum, default_value_t = Output::Text)]
    output: Output,
}

/// Run `kiln secret list`.
fn list(args: ListArgs, printer: &Printer) -> anyhow::Result<ExitCode> {
    let (recipients, secrets) = session(printer)?.secrets(&args.env)?;
    if args.output == Output::Json {
        let json = serde_json::json!({ "recipients": recipients, "secrets": secrets });
        printer.data(&format!("{}\n", crate::untrusted::json_pretty(&json)?))?;
        return Ok(ExitCode::SUCCESS);
    }
    let rows: Vec<Vec<String>> = recipients.iter().map(|r| vec![r.clone()]).collect();
    if rows.is_empty() {
        printer.note(&format!(
            "`{}` has no recipients: `kiln secret recipient add {} age1...` adds one",
            args.env, args.env
        ));
    } else {
        printer.text(&table::render(&["RECIPIENT"], &rows))?;
        printer.text("\n")?;
    }
    if secrets.is_empty() {
        printer.note(&format!("`{}` has no secrets", args.env));
        return Ok(ExitCode::SUCCESS);
    }
    let rows: Vec<Vec<String>> = secrets
        .iter()
        .map(|s| {
            let to = match (s.recipients.len(), s.stale) {
                (0, _) => "-".to_string(),
                (n, false) => format!("{n} recipient{}", if n == 1 { "" } else { "s" }),
                (n, true) => format!("{n}, not the environment's: set it again"),
            };
            vec![s.name.clone(), s.source.clone(), to]
        })
        .collect();
    printer.text(&table::render(&["SECRET", "SOURCE", "ENCRYPTED TO"], &rows))?;
    Ok(ExitCode::SUCCESS)
}

#[derive(Debug, clap::Args)]
pub struct RmArgs {
    /// The environment.
    env: String,
    /// The secret.
    name: String,
}

/// Run `kiln secret rm`.
fn rm(args: RmArgs, printer: &Printer) -> anyhow::Result<ExitCode> {
    if !session(printer)?.remove_secret(&args.env, &args.name)? {
        anyhow::bail!("environment `{}` has no secret `{}`", args.env, args.name);
    }
    printer.note(&format!("removed secret `{}` of `{}`", args.name, args.env));
    Ok(ExitCode::SUCCESS)
}

#[derive(Debug, clap::Args)]
pub struct RecipientArgs {
    /// The environment.
    env: String,
    /// An age recipient, `age1...` (`kiln secret keygen` prints yours).
    recipient: String,
}

/// Run `kiln secret recipient add` (`add`) or `rm`.
fn recipient(args: RecipientArgs, add: bool, printer: &Printer) -> anyhow::Result<ExitCode> {
    store::parse_recipients(std::slice::from_ref(&args.recipient))?;
    let recipient = args.recipient.clone();
    let changed = session(printer)?.change_recipients(&args.env, |list| {
        if add && !list.contains(&recipient) {
            list.push(recipient);
        } else if !add {
            list.retain(|r| *r != recipient);
        }
    })?;
    let (verb, noun) = if add { ("added", "already has") } else { ("removed", "does not have") };
    match changed {
        None => printer.note(&format!("`{}` {noun} recipient {}", args.env, args.recipient)),
        Some(count) => printer.note(&format!(
            "{verb} recipient {} of `{}`; re-encrypted {count} secret{}",
            args.recipient,
            args.env,
            if count == 1 { "" } else { "s" }
        )),
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(Debug, clap::Args)]
pub struct KeygenArgs {
    /// Where to write the identity, instead of $KILN_AGE_IDENTITY or the default.
    #[arg(long, value_name = "PATH")]
    output: Option<std::path::PathBuf>,
}

/// Run `kiln secret keygen`.
fn keygen(args: KeygenArgs, printer: &Printer) -> anyhow::Result<ExitCode> {
    let path = match args.output.or_else(store::identity_path) {
        Some(path) => path,
        None => anyhow::bail!("no configuration directory: give `--output PATH`"),
    };
    let recipient = store::keygen(&path)?;
    printer.note(&format!("wrote an age identity to {}", path.display()));
    printer.data(&format!("{recipient}\n"))?;
    Ok(ExitCode::SUCCESS)
}
