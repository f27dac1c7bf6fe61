//! The seeded generator of tenants: [`TenantBuilder`] and the word lists and device models
//! it draws from. The same seed gives a byte-identical tenant.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Duration, Utc};
use serde_json::Value;

use super::model::{
    AccessRule, Device, Mailbox, MailboxPolicy, OrgSettings, Tenant, WipeState, new_guid,
};
use super::spec::{DeviceBuilder, MailboxBuilder};
use crate::rbac::{Rbac, RbacProfile};

/// Builds a [`Tenant`], empty or generated deterministically from a seed, plus any
/// hand-made mailboxes and devices ([`with_mailbox`](Self::with_mailbox),
/// [`with_device`](Self::with_device)).
///
/// The tenant's clock is [`Tenant::DEFAULT_NOW`] (2024-06-01 00:00:00 UTC) unless set with
/// [`now`](Self::now): code that compares with `Utc::now()` should get a tenant built with
/// `.now(Utc::now())`, or be given [`Tenant::now`].
///
/// ```
/// use chrono::Duration;
/// use exchange_activesync_testkit::{Device, TenantBuilder};
///
/// let tenant = TenantBuilder::new()
///     .seed(42)
///     .mailboxes(10)
///     .devices(25)
///     .with_device(Device::builder("carol").device_model("Pixel 8").never_synced())
///     .build();
/// assert_eq!(tenant.device_count(), 26);
/// assert_eq!(tenant.mailboxes().len(), 11);
/// assert_eq!(tenant.now().to_rfc3339(), "2024-06-01T00:00:00+00:00");
/// // Deterministic: the same settings give the same tenant.
/// let again = TenantBuilder::new().seed(42).mailboxes(10).devices(25).build();
/// assert!(again.devices().all(|d| tenant.device(&d.guid) == Some(d)));
/// let carol = tenant.mailbox("carol").unwrap();
/// assert!(tenant.devices().any(|d| d.last_success_sync.is_none()
///     && tenant.mailboxes()[d.mailbox].name == carol.name));
/// ```
#[derive(Clone, Debug)]
pub struct TenantBuilder {
    seed: u64,
    mailboxes: usize,
    devices: usize,
    domain: Option<String>,
    profile: RbacProfile,
    rbac: Option<Rbac>,
    caller: Option<String>,
    now: Option<DateTime<Utc>>,
    mailbox_specs: Vec<MailboxBuilder>,
    device_specs: Vec<DeviceBuilder>,
}

impl Default for TenantBuilder {
    fn default() -> Self {
        TenantBuilder::new()
    }
}

const FIRST: &[&str] = &[
    "Zoë",
    "Åsa",
    "José",
    "François",
    "Björn",
    "Chloé",
    "Søren",
    "Ana",
    "Mårten",
    "Renée",
    "Alice",
    "Bob",
    "Hannah",
    "Łukasz",
    "Émile",
    "Noël",
    "Jürgen",
    "Siobhán",
    "Ngozi",
    "Priya",
];
const LAST: &[&str] = &[
    "Ångström",
    "Müller",
    "García",
    "Øberg",
    "Dvořák",
    "O'Brien",
    "Nguyễn",
    "Kowalski",
    "Smith",
    "Jones",
    "Lefèvre",
    "Şahin",
    "Çelik",
    "Andersson",
    "Ferreira",
    "Tanaka",
];
const CJK: &[&str] = &["李雷", "韩梅梅", "王芳", "佐藤 健", "김민준", "張偉"];
const CITIES: &[&str] = &[
    "Zürich",
    "København",
    "Dublin",
    "München",
    "Kraków",
    "Seattle",
];
const DEPTS: &[&str] = &["Sales", "Engineering", "Finance", "Opérations", "Support"];

struct EasModel {
    device_type: &'static str,
    model: &'static str,
    os: &'static str,
    agent: &'static str,
    version: &'static str,
}

const EAS_MODELS: &[EasModel] = &[
    EasModel {
        device_type: "iPhone",
        model: "iPhone15C2",
        os: "iOS 17.5.1 21F90",
        agent: "Apple-iPhone15C2/2105.90",
        version: "16.1",
    },
    EasModel {
        device_type: "iPad",
        model: "iPad13C1",
        os: "iOS 16.7.8 20H343",
        agent: "Apple-iPad13C1/2008.343",
        version: "16.1",
    },
    EasModel {
        device_type: "Android",
        model: "Pixel 8",
        os: "Android 14.0.0",
        agent: "Android-Mail/2024.05.12",
        version: "16.1",
    },
    EasModel {
        device_type: "SAMSUNGSMG991B",
        model: "SM-G991B",
        os: "Android 13.0.0",
        agent: "SAMSUNG-SM-G991B/101.30000",
        version: "16.1",
    },
    EasModel {
        device_type: "WindowsMail",
        model: "Surface Laptop",
        os: "Windows 10.0.22631",
        agent: "MSFT-WIN-3/10.0.22631",
        version: "16.1",
    },
];

impl TenantBuilder {
    /// A builder for an empty tenant (seed 0) with the built-in objects only.
    pub fn new() -> Self {
        TenantBuilder {
            seed: 0,
            mailboxes: 0,
            devices: 0,
            domain: None,
            profile: RbacProfile::Full,
            rbac: None,
            caller: None,
            now: None,
            mailbox_specs: Vec::new(),
            device_specs: Vec::new(),
        }
    }

    /// The tenant's clock ([`Tenant::now`]): every generated date (creation, first and last
    /// syncs, wipes) is drawn relative to it, and so are the "ago" times of
    /// [`with_device`](Self::with_device). Default: [`Tenant::DEFAULT_NOW`] (2024-06-01
    /// 00:00:00 UTC), so the same seed gives the same tenant on every run. Code under test
    /// that reads the wall clock (`Utc::now()`, e.g. a stale-device cutoff) would see every
    /// generated device as months or years old: build with `.now(Utc::now())` then, or pass
    /// [`Tenant::now`] to that code instead of `Utc::now()`.
    ///
    /// ```
    /// use chrono::{Duration, Utc};
    /// use exchange_activesync_testkit::TenantBuilder;
    ///
    /// let start = Utc::now();
    /// let tenant = TenantBuilder::new().seed(3).mailboxes(5).devices(20).now(start).build();
    /// assert_eq!(tenant.now(), start);
    /// // Every device synced within the two years before the tenant's clock, none after it.
    /// for d in tenant.devices() {
    ///     if let Some(last) = d.last_success_sync {
    ///         assert!(last <= start && last > start - Duration::days(730));
    ///     }
    /// }
    /// ```
    pub fn now(mut self, now: DateTime<Utc>) -> Self {
        self.now = Some(now);
        self
    }

    /// Add a hand-made mailbox (after the generated ones). See [`Mailbox::builder`].
    pub fn with_mailbox(mut self, mailbox: MailboxBuilder) -> Self {
        self.mailbox_specs.push(mailbox);
        self
    }

    /// Add a hand-made device (after the generated ones; its owner is created when no
    /// mailbox matches). See [`Device::builder`] and [`Tenant::create_device`].
    pub fn with_device(mut self, device: DeviceBuilder) -> Self {
        self.device_specs.push(device);
        self
    }

    /// Seed of every generated value (GUIDs, names, times).
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Number of generated mailboxes (at least one is generated when devices are asked for).
    pub fn mailboxes(mut self, n: usize) -> Self {
        self.mailboxes = n;
        self
    }

    /// Number of generated device partnerships.
    pub fn devices(mut self, n: usize) -> Self {
        self.devices = n;
        self
    }

    /// Initial domain (default `contoso<seed>.onmicrosoft.com`).
    pub fn domain(mut self, domain: impl Into<String>) -> Self {
        self.domain = Some(domain.into());
        self
    }

    /// The caller's RBAC preset (default [`RbacProfile::Full`]).
    pub fn rbac_profile(mut self, profile: RbacProfile) -> Self {
        self.profile = profile;
        self.rbac = None;
        self
    }

    /// A custom RBAC configuration.
    pub fn rbac(mut self, rbac: Rbac) -> Self {
        self.rbac = Some(rbac);
        self
    }

    /// The caller's address (default `admin@<domain>`).
    pub fn caller(mut self, caller: impl Into<String>) -> Self {
        self.caller = Some(caller.into());
        self
    }

    /// Build the tenant. Deterministic: the same settings give the same tenant.
    pub fn build(self) -> Tenant {
        let mut rng = fastrand::Rng::with_seed(self.seed ^ 0x5EED_E4C4_A5A1_0001);
        let epoch = self.now.unwrap_or(Tenant::DEFAULT_NOW);
        let tenant_id = new_guid(&mut rng);
        let domain = self
            .domain
            .unwrap_or_else(|| format!("contoso{}.onmicrosoft.com", self.seed));
        let created = epoch - Duration::days(900);
        let mut default_policy = MailboxPolicy::new(new_guid(&mut rng), "Default", created);
        default_policy.set_raw("IsDefault", Value::Bool(true));
        let org = OrgSettings {
            guid: new_guid(&mut rng),
            default_access_level: "Allow".into(),
            tenant_admin_preference: "None".into(),
            user_mail_insert: None,
            allow_access_for_unsupported_platform: true,
            enable_mobile_mailbox_policy_when_ca_in_place: false,
            allow_rms_support_for_unenlightened_apps: false,
            admin_mail_recipients: Vec::new(),
            ota_notification_mail_insert: None,
            is_intune_managed: false,
            has_azure_premium_subscription: true,
            when_created: created,
            when_changed: created,
        };
        let mut tenant = Tenant {
            tenant_id,
            caller: self.caller.unwrap_or_else(|| format!("admin@{domain}")),
            domain,
            org,
            policies: vec![default_policy],
            rules: Vec::new(),
            mailboxes: Vec::new(),
            mailbox_index: HashMap::new(),
            devices: BTreeMap::new(),
            device_index: HashMap::new(),
            mailbox_devices: HashMap::new(),
            wipe_acks: super::model::WipeAcks::default(),
            rbac: self.rbac.unwrap_or_else(|| Rbac::profile(self.profile)),
            clock: epoch,
            rng: fastrand::Rng::with_seed(self.seed ^ 0xC10C_0000_0000_0002),
        };
        let mailboxes = if self.devices > 0 {
            self.mailboxes.max(1)
        } else {
            self.mailboxes
        };
        if mailboxes == 0 {
            return Self::add_specs(tenant, self.mailbox_specs, self.device_specs);
        }
        // A realistic configuration: a strict policy and a few rules.
        let mut strict = MailboxPolicy::new(
            new_guid(&mut rng),
            "Strict-Phones",
            created + Duration::days(30),
        );
        for (k, v) in [
            ("PasswordEnabled", Value::Bool(true)),
            ("AllowSimplePassword", Value::Bool(false)),
            ("MinPasswordLength", Value::from(6)),
            ("MaxInactivityTimeLock", Value::from("00:05:00")),
            ("MaxPasswordFailedAttempts", Value::from("10")),
            ("MaxAttachmentSize", Value::from("35 MB (36,700,160 bytes)")),
        ] {
            strict.set_raw(k, v);
        }
        tenant.policies.push(strict);
        for (q, c, a) in [
            ("SAMSUNGSMG991B", "DeviceType", "Block"),
            ("iPhone15C2", "DeviceModel", "Allow"),
            ("Android 13.0.0", "DeviceOS", "Quarantine"),
        ] {
            tenant.rules.push(AccessRule {
                guid: new_guid(&mut rng),
                query_string: q.into(),
                characteristic: c.into(),
                access_level: a.into(),
                when_created: created + Duration::days(40),
                when_changed: created + Duration::days(40),
            });
        }
        let domain = tenant.domain.clone();
        for i in 0..mailboxes {
            let cjk = rng.u32(0..20) == 0;
            let (first, last, display) = if cjk {
                let n = CJK[rng.usize(0..CJK.len())];
                (None, None, n.to_string())
            } else {
                let f = FIRST[rng.usize(0..FIRST.len())];
                let l = LAST[rng.usize(0..LAST.len())];
                (Some(f.to_string()), Some(l.to_string()), format!("{f} {l}"))
            };
            let details = match rng.u32(0..20) {
                0 | 1 => "SharedMailbox",
                2 => "RoomMailbox",
                _ => "UserMailbox",
            };
            let alias = match &first {
                Some(f) => format!(
                    "{}.{}{}",
                    ascii_fold(f),
                    ascii_fold(last.as_deref().unwrap_or("")),
                    i
                ),
                None => format!("user{i}"),
            };
            let when_created = epoch - Duration::seconds(rng.i64(86_400..86_400 * 800));
            let mb = Mailbox {
                guid: new_guid(&mut rng),
                exchange_guid: new_guid(&mut rng),
                external_directory_object_id: new_guid(&mut rng),
                name: alias.clone(),
                primary_smtp_address: format!("{alias}@{domain}"),
                alias,
                display_name: display,
                first_name: first,
                last_name: last,
                recipient_type_details: details.into(),
                city: (rng.u32(0..3) > 0).then(|| CITIES[rng.usize(0..CITIES.len())].to_string()),
                department: (rng.u32(0..2) > 0)
                    .then(|| DEPTS[rng.usize(0..DEPTS.len())].to_string()),
                active_sync_mailbox_policy: (rng.u32(0..10) == 0)
                    .then(|| "Strict-Phones".to_string()),
                when_created,
                cas: Default::default(),
            };
            tenant.add_mailbox(mb);
        }
        for _ in 0..self.devices {
            let mailbox = rng.usize(0..mailboxes);
            let device = generate_device(&mut rng, &tenant, mailbox, epoch);
            tenant.add_device(device);
        }
        Self::add_specs(tenant, self.mailbox_specs, self.device_specs)
    }

    fn add_specs(
        mut tenant: Tenant,
        mailboxes: Vec<MailboxBuilder>,
        devices: Vec<DeviceBuilder>,
    ) -> Tenant {
        for m in mailboxes {
            tenant.create_mailbox(m);
        }
        for d in devices {
            tenant.create_device(d);
        }
        tenant
    }
}

fn ascii_fold(s: &str) -> String {
    s.chars()
        .filter_map(|c| match c {
            'a'..='z' | 'A'..='Z' | '0'..='9' => Some(c.to_ascii_lowercase()),
            'ä' | 'å' | 'á' | 'à' | 'Å' | 'Ä' => Some('a'),
            'é' | 'è' | 'ë' | 'É' => Some('e'),
            'ö' | 'ø' | 'ó' | 'Ø' | 'Ö' => Some('o'),
            'ü' | 'ú' => Some('u'),
            'ç' | 'Ç' => Some('c'),
            'ł' | 'Ł' => Some('l'),
            'ş' | 'Ş' => Some('s'),
            'ř' => Some('r'),
            'ï' | 'í' => Some('i'),
            'ễ' => Some('e'),
            _ => None,
        })
        .collect()
}

fn random_time(rng: &mut fastrand::Rng, before: DateTime<Utc>, max_secs: i64) -> DateTime<Utc> {
    let t = before - Duration::seconds(rng.i64(60..max_secs));
    if rng.bool() {
        t + Duration::nanoseconds(rng.i64(0..10_000_000) * 100)
    } else {
        t
    }
}

fn hex_id(rng: &mut fastrand::Rng, len: usize) -> String {
    (0..len)
        .map(|_| {
            char::from_digit(rng.u32(0..16), 16)
                .unwrap_or('0')
                .to_ascii_uppercase()
        })
        .collect()
}

/// The EAS protocol version (`ClientVersion`) of a generated EAS partnership: mostly the
/// model's own (16.1), with a tail of 16.0, 14.1 and 12.1 (about 12, 9 and 4 in a hundred). Taken from the device's Guid, not from the generator, so every other
/// generated value stays what it was for a seed.
fn eas_version(guid: &uuid::Uuid, model: &EasModel) -> &'static str {
    match guid.as_u128() % 100 {
        0..=74 => model.version,
        75..=86 => "16.0",
        87..=95 => "14.1",
        _ => "12.1",
    }
}

fn generate_device(
    rng: &mut fastrand::Rng,
    tenant: &Tenant,
    mailbox: usize,
    epoch: DateTime<Utc>,
) -> Device {
    let guid = new_guid(rng);
    let kind = rng.u32(0..20);
    let first_sync = random_time(rng, epoch, 86_400 * 700);
    let mut d = Device {
        guid,
        mailbox,
        client_type: "EAS".into(),
        device_type: String::new(),
        device_id: String::new(),
        device_model: String::new(),
        device_os: None,
        device_os_language: None,
        device_user_agent: None,
        device_imei: None,
        device_mobile_operator: None,
        device_telephone_number: None,
        friendly_name: None,
        first_sync_time: Some(first_sync),
        last_success_sync: None,
        last_sync_attempt_time: None,
        last_policy_update_time: None,
        access_state: "Allowed".into(),
        access_state_reason: "Global".into(),
        access_control_rule: None,
        client_version: None,
        is_managed: false,
        is_compliant: false,
        is_disabled: false,
        policy_applied: None,
        policy_application_status: "Unknown".into(),
        remote_wipe_supported: true,
        folders_synced: 0,
        last_ping_heartbeat: None,
        wipe: WipeState::default(),
        when_created: first_sync,
        when_changed: first_sync,
        names: None,
    };
    let policy_name = tenant.mailboxes[mailbox]
        .active_sync_mailbox_policy
        .clone()
        .unwrap_or_else(|| "Default".to_string());
    match kind {
        // REST (Outlook for iOS/Android): no ActiveSync sync times.
        0..=5 => {
            d.client_type = "REST".into();
            d.device_type = "Outlook".into();
            d.device_model = "Outlook for iOS and Android".into();
            d.device_id = format!("{:032x}", rng.u128(..));
            d.device_os = Some(
                if rng.bool() {
                    "iOS 17.5.1"
                } else {
                    "Android 14"
                }
                .into(),
            );
            d.device_user_agent = Some("Outlook-iOS-Android/1.0".into());
            d.client_version = Some("1.0".into());
            d.first_sync_time = None;
            d.access_state_reason = "Global".into();
            d.remote_wipe_supported = false;
            d.policy_application_status = "AppliedInFull".into();
            d.policy_applied = Some(policy_name);
        }
        // Outlook (new sync architecture).
        6 => {
            d.client_type = "Outlook".into();
            d.device_type = "Outlook".into();
            d.device_model = "Outlook for iOS and Android".into();
            d.device_id = format!("{:032x}", rng.u128(..));
            d.device_os = Some("iOS 18.0".into());
            d.first_sync_time = None;
            d.remote_wipe_supported = false;
        }
        // Mobile OWA.
        7 => {
            d.client_type = "MOWA".into();
            d.device_type = "iPhone".into();
            d.device_model = "iPhone".into();
            d.device_id = hex_id(rng, 16);
            d.device_user_agent =
                Some("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X)".into());
        }
        _ => {
            let m = &EAS_MODELS[rng.usize(0..EAS_MODELS.len())];
            d.device_type = m.device_type.into();
            d.device_model = m.model.into();
            d.device_os = Some(m.os.into());
            d.device_user_agent = Some(m.agent.into());
            d.client_version = Some(eas_version(&guid, m).into());
            d.device_id = hex_id(rng, 32);
            d.device_os_language =
                Some(["en-US", "de-DE", "fr-FR", "zh-CN", "sv-SE"][rng.usize(0..5)].into());
            d.device_imei = rng
                .bool()
                .then(|| format!("35{:013}", rng.u64(0..10_000_000_000_000)));
            d.device_mobile_operator = rng.bool().then(|| {
                ["Vodafone", "Telefónica", "中国移动", "T-Mobile"][rng.usize(0..4)].to_string()
            });
            d.device_telephone_number = rng
                .bool()
                .then(|| format!("+4479{:08}", rng.u32(0..100_000_000)));
            d.friendly_name = (rng.u32(0..4) == 0).then(|| {
                format!(
                    "{}'s {}",
                    tenant.mailboxes[mailbox].display_name, m.device_type
                )
            });
            let last = first_sync
                + Duration::seconds(rng.i64(0..(epoch - first_sync).num_seconds().max(1)));
            d.last_success_sync = Some(last);
            d.last_sync_attempt_time = Some(last);
            d.last_policy_update_time = Some(first_sync);
            d.policy_applied = Some(policy_name);
            d.policy_application_status = "AppliedInFull".into();
            d.folders_synced = rng.i64(1..40);
            d.last_ping_heartbeat = Some(rng.i64(300..1800));
            d.is_managed = rng.u32(0..3) == 0;
            d.is_compliant = d.is_managed && rng.u32(0..5) > 0;
            d.when_changed = last;
            if let Some(rule) = tenant.rules.iter().find(|r| {
                (r.characteristic == "DeviceType" && r.query_string == d.device_type)
                    || (r.characteristic == "DeviceModel" && r.query_string == d.device_model)
                    || (r.characteristic == "DeviceOS"
                        && Some(&r.query_string) == d.device_os.as_ref())
            }) {
                d.access_control_rule = Some(rule.name());
                d.access_state_reason = "DeviceRule".into();
                d.access_state = match rule.access_level.as_str() {
                    "Block" => "Blocked",
                    "Quarantine" => "Quarantined",
                    _ => "Allowed",
                }
                .into();
            } else if rng.u32(0..40) == 0 {
                d.access_state = "DeviceDiscovery".into();
                d.access_state_reason = "Unknown".into();
            }
            match rng.u32(0..100) {
                0 => {
                    d.wipe.request = Some(last);
                    d.wipe.requestor = Some(tenant.caller.clone());
                }
                1 => {
                    d.wipe.request = Some(last);
                    d.wipe.sent = Some(last + Duration::seconds(30));
                    d.wipe.ack = Some(last + Duration::seconds(95));
                    d.wipe.requestor = Some(tenant.caller.clone());
                }
                _ => {}
            }
        }
    }
    d
}
