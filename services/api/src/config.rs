//! Loads [`Settings`]: embedded defaults (`config/default.toml`), then an optional file,
//! then `COPILOT_*` environment variables (`__` separates nested keys).

use std::path::Path;

use copilot_core::settings::Settings;
use figment::{
    Figment,
    providers::{Env, Format, Toml},
};

/// The documented defaults, compiled in.
pub const DEFAULTS: &str = include_str!("../../../config/default.toml");

/// Reads settings; the error names the offending key.
pub fn load(file: Option<&Path>) -> anyhow::Result<Settings> {
    let mut figment = Figment::from(Toml::string(DEFAULTS));
    if let Some(file) = file {
        if !file.exists() {
            anyhow::bail!("configuration file {} does not exist", file.display());
        }
        figment = figment.merge(Toml::file(file));
    }
    // Environment values stay text: figment's own parsing would turn a numeric password or
    // token into a number and refuse it for a text setting. Numeric and boolean settings
    // read their text through the lossy extraction instead.
    let environment = Env::prefixed("COPILOT_").split("__").ignore(&["config", "test_database_url"]);
    for (key, value) in environment.iter() {
        figment = figment.merge((key.as_str(), value));
    }
    let mut settings: Settings = figment.extract_lossy().map_err(|error| {
        let key = error.path.join(".");
        anyhow::anyhow!("invalid setting `{key}` (environment variable COPILOT_{}): {error}", key.to_uppercase())
    })?;
    if settings.models_dir.as_os_str().is_empty() {
        settings.models_dir = copilot_triage::default_models_dir();
    }
    Ok(settings.validate()?)
}

#[cfg(test)]
#[allow(clippy::result_large_err)] // figment's Jail requires its own error type.
mod tests {
    use secrecy::ExposeSecret;

    use super::*;

    #[test]
    fn defaults_alone_are_valid_and_embedded() {
        figment::Jail::expect_with(|_| {
            let settings = load(None).map_err(|e| e.to_string())?;
            assert_eq!(settings.listen.to_string(), "127.0.0.1:8080");
            assert!(settings.database_url.starts_with("sqlite://"));
            assert!(settings.database_url.contains("copilot.db"));
            assert_eq!(settings.platform_token(), None);
            Ok(())
        });
    }

    #[test]
    fn environment_overrides_defaults() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("COPILOT_LISTEN", "0.0.0.0:9000");
            jail.set_env("COPILOT_DATABASE_URL", "postgres://localhost/copilot");
            jail.set_env("COPILOT_PLATFORM_TOKEN", "a-long-operator-secret");
            let settings = load(None).map_err(|e| e.to_string())?;
            assert_eq!(settings.listen.to_string(), "0.0.0.0:9000");
            assert!(settings.database_url.starts_with("postgres://"));
            assert_eq!(settings.platform_token(), Some("a-long-operator-secret"));
            Ok(())
        });
    }

    #[test]
    fn environment_text_that_looks_like_a_number_stays_text() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("COPILOT_PLATFORM_TOKEN", "0012345678901234567890");
            jail.set_env("COPILOT_LLM_API_KEY", "007");
            jail.set_env("COPILOT_LLM_MODEL", "42");
            jail.set_env("COPILOT_DATABASE_MAX_CONNECTIONS", "7");
            jail.set_env("COPILOT_WEBHOOK_ALLOW_PRIVATE", "true");
            jail.set_env("COPILOT_LLM_TEMPERATURE", "0.5");
            let settings = load(None).map_err(|e| e.to_string())?;
            assert_eq!(settings.platform_token(), Some("0012345678901234567890"));
            assert_eq!(settings.llm_api_key.expose_secret(), "007");
            assert_eq!(settings.llm_model, "42");
            assert_eq!(settings.database_max_connections, 7);
            assert!(settings.webhook_allow_private);
            assert_eq!(settings.llm_temperature, 0.5);
            Ok(())
        });
    }

    #[test]
    fn a_number_setting_given_text_names_the_key() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("COPILOT_DATABASE_MAX_CONNECTIONS", "many");
            let error = load(None).err().map(|e| e.to_string()).unwrap_or_default();
            assert!(error.contains("COPILOT_DATABASE_MAX_CONNECTIONS"), "{error}");
            Ok(())
        });
    }

    #[test]
    fn a_bad_listen_address_names_the_key() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("COPILOT_LISTEN", "not-an-address");
            let error = load(None).err().map(|e| e.to_string()).unwrap_or_default();
            assert!(error.contains("COPILOT_LISTEN"), "{error}");
            Ok(())
        });
    }

    #[test]
    fn a_public_url_is_an_http_address_and_links_start_with_it() {
        figment::Jail::expect_with(|jail| {
            for bad in ["help.example.com", "ftp://help.example.com", "https://help.example.com/?a=1", "https://a b"] {
                jail.set_env("COPILOT_PUBLIC_URL", bad);
                let error = load(None).err().map(|e| e.to_string()).unwrap_or_default();
                assert!(error.contains("COPILOT_PUBLIC_URL"), "{bad}: {error}");
            }
            jail.set_env("COPILOT_PUBLIC_URL", "https://help.example.com/");
            let settings = load(None).map_err(|error| error.to_string())?;
            assert_eq!(settings.public_url(), "https://help.example.com");
            Ok(())
        });
    }

    #[test]
    fn a_short_platform_token_names_the_key() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("COPILOT_PLATFORM_TOKEN", "short");
            let error = load(None).err().map(|e| e.to_string()).unwrap_or_default();
            assert!(error.contains("COPILOT_PLATFORM_TOKEN"), "{error}");
            Ok(())
        });
    }

    #[test]
    fn an_unknown_database_scheme_names_the_key() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("COPILOT_DATABASE_URL", "mysql://localhost/x");
            let error = load(None).err().map(|e| e.to_string()).unwrap_or_default();
            assert!(error.contains("COPILOT_DATABASE_URL"), "{error}");
            Ok(())
        });
    }

    #[test]
    fn a_config_file_sits_between_defaults_and_environment() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("copilot.toml", "listen = \"127.0.0.1:7000\"\nsession_ttl_hours = 2\n")?;
            jail.set_env("COPILOT_SESSION_TTL_HOURS", "3");
            let settings = load(Some(Path::new("copilot.toml"))).map_err(|e| e.to_string())?;
            assert_eq!(settings.listen.port(), 7000);
            assert_eq!(settings.session_ttl_hours, 3);
            Ok(())
        });
    }
}
