//! Get-Recipient.

use super::rule::check_sort_by;
use super::*;
use crate::models::{Recipient, RecipientType, RecipientTypeDetails};

/// `Get-Recipient`: recipients of the organization.
///
/// Sends `ResultSize: "Unlimited"` unless [`result_size`](Self::result_size) is set. The
/// typical mobile-device use is
/// `GetRecipient::new().filter(Filter::eq("HasActiveSyncDevicePartnership", true))`.
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct GetRecipient {
    identity: Option<RecipientIdentity>,
    anr: Option<String>,
    recipient_preview_filter: Option<String>,
    filter: Option<Filter>,
    recipient_type: Vec<RecipientType>,
    recipient_type_details: Vec<RecipientTypeDetails>,
    result_size: Option<u32>,
    sort_by: Option<String>,
    organizational_unit: Option<String>,
    authentication_type: Option<String>,
    include_soft_deleted_recipients: bool,
    select: Vec<String>,
}

impl GetRecipient {
    /// Every recipient.
    pub fn new() -> Self {
        Self::default()
    }

    /// `-Identity` (parameter set `Identity`).
    pub fn identity(mut self, identity: RecipientIdentity) -> Self {
        self.identity = Some(identity);
        self
    }

    /// `-Anr`: ambiguous-name search (parameter set `AnrSet`).
    pub fn anr(mut self, text: impl Into<String>) -> Self {
        self.anr = Some(text.into());
        self
    }

    /// `-RecipientPreviewFilter` (parameter set `RecipientPreviewFilterSet`).
    pub fn recipient_preview_filter(mut self, filter: impl Into<String>) -> Self {
        self.recipient_preview_filter = Some(filter.into());
        self
    }

    /// `-Filter` (OPATH).
    pub fn filter(mut self, filter: Filter) -> Self {
        self.filter = Some(filter);
        self
    }

    /// `-RecipientType`.
    pub fn recipient_type<I: IntoIterator<Item = RecipientType>>(mut self, types: I) -> Self {
        self.recipient_type = types.into_iter().collect();
        self
    }

    /// `-RecipientTypeDetails`. When `-RecipientType` is also given, each subtype must belong
    /// to one of those types.
    pub fn recipient_type_details<I: IntoIterator<Item = RecipientTypeDetails>>(
        mut self,
        details: I,
    ) -> Self {
        self.recipient_type_details = details.into_iter().collect();
        self
    }

    /// `-ResultSize` (at least 1); without it `Unlimited` is sent.
    pub fn result_size(mut self, n: u32) -> Self {
        self.result_size = Some(n);
        self
    }

    /// `-SortBy` (Name, DisplayName, Alias, City, FirstName, LastName, Office, ServerLegacyDN).
    pub fn sort_by(mut self, property: impl Into<String>) -> Self {
        self.sort_by = Some(property.into());
        self
    }

    /// `-OrganizationalUnit`.
    pub fn organizational_unit(mut self, ou: impl Into<String>) -> Self {
        self.organizational_unit = Some(ou.into());
        self
    }

    /// `-AuthenticationType` (`Managed` or `Federated`).
    pub fn authentication_type(mut self, kind: impl Into<String>) -> Self {
        self.authentication_type = Some(kind.into());
        self
    }

    /// `-IncludeSoftDeletedRecipients`.
    pub fn include_soft_deleted_recipients(mut self) -> Self {
        self.include_soft_deleted_recipients = true;
        self
    }

    select_setter!();
}

/// Read access to the parameters (`get_<setter>()`; see the [module](crate::cmdlets) documentation).
impl GetRecipient {
    /// What [`identity`](Self::identity) set (read access, e.g. for a mock).
    pub fn get_identity(&self) -> Option<&RecipientIdentity> {
        self.identity.as_ref()
    }

    /// What [`anr`](Self::anr) set (read access, e.g. for a mock).
    pub fn get_anr(&self) -> Option<&str> {
        self.anr.as_deref()
    }

    /// What [`recipient_preview_filter`](Self::recipient_preview_filter) set (read access, e.g. for a mock).
    pub fn get_recipient_preview_filter(&self) -> Option<&str> {
        self.recipient_preview_filter.as_deref()
    }

    /// What [`filter`](Self::filter) set (read access, e.g. for a mock).
    pub fn get_filter(&self) -> Option<&Filter> {
        self.filter.as_ref()
    }

    /// What [`recipient_type`](Self::recipient_type) set (read access, e.g. for a mock).
    pub fn get_recipient_type(&self) -> &[RecipientType] {
        &self.recipient_type
    }

    /// What [`recipient_type_details`](Self::recipient_type_details) set (read access, e.g. for a mock).
    pub fn get_recipient_type_details(&self) -> &[RecipientTypeDetails] {
        &self.recipient_type_details
    }

    /// What [`result_size`](Self::result_size) set (read access, e.g. for a mock).
    pub fn get_result_size(&self) -> Option<u32> {
        self.result_size
    }

    /// What [`sort_by`](Self::sort_by) set (read access, e.g. for a mock).
    pub fn get_sort_by(&self) -> Option<&str> {
        self.sort_by.as_deref()
    }

    /// What [`organizational_unit`](Self::organizational_unit) set (read access, e.g. for a mock).
    pub fn get_organizational_unit(&self) -> Option<&str> {
        self.organizational_unit.as_deref()
    }

    /// What [`authentication_type`](Self::authentication_type) set (read access, e.g. for a mock).
    pub fn get_authentication_type(&self) -> Option<&str> {
        self.authentication_type.as_deref()
    }

    /// What [`include_soft_deleted_recipients`](Self::include_soft_deleted_recipients) set (read access, e.g. for a mock).
    pub fn get_include_soft_deleted_recipients(&self) -> bool {
        self.include_soft_deleted_recipients
    }

    /// What [`select`](Self::select) set (read access, e.g. for a mock).
    pub fn get_select(&self) -> &[String] {
        &self.select
    }
}

impl Cmdlet for GetRecipient {
    type Output = Recipient;
    type Shape = crate::typed::ListingShape;
    const INFO: &'static CmdletInfo = catalog::entry(catalog::idx::GET_RECIPIENT);
    fn invocation(&self) -> Result<Invocation> {
        let sets = [
            ("Identity", self.identity.is_some()),
            ("Anr", self.anr.is_some()),
            (
                "RecipientPreviewFilter",
                self.recipient_preview_filter.is_some(),
            ),
        ];
        let used: Vec<&str> = sets.iter().filter(|(_, on)| *on).map(|(n, _)| *n).collect();
        if used.len() > 1 {
            return Err(invalid::<Self>(
                used[1],
                format!(
                    "cannot be combined with -{} (different parameter sets)",
                    used[0]
                ),
            ));
        }
        if !self.recipient_type.is_empty() {
            for d in &self.recipient_type_details {
                if let Some(t) = d.recipient_type()
                    && !self.recipient_type.contains(&t)
                {
                    return Err(invalid::<Self>(
                        "RecipientTypeDetails",
                        format!(
                            "{d} belongs to RecipientType {t}, which is not among the requested RecipientType values ({})",
                            self.recipient_type
                                .iter()
                                .map(|t| t.as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    ));
                }
            }
        }
        let mut p = Parameters::new();
        put(&mut p, "Identity", &self.identity);
        if let Some(a) = &self.anr {
            check_non_empty::<Self>("Anr", a)?;
            p.string("Anr", a.trim());
        }
        if let Some(f) = &self.recipient_preview_filter {
            check_non_empty::<Self>("RecipientPreviewFilter", f)?;
            p.string("RecipientPreviewFilter", f.clone());
        }
        put(&mut p, "Filter", &self.filter);
        if !self.recipient_type.is_empty() {
            p.strings(
                "RecipientType",
                self.recipient_type.iter().map(|t| t.as_str().to_string()),
            );
        }
        if !self.recipient_type_details.is_empty() {
            p.strings(
                "RecipientTypeDetails",
                self.recipient_type_details
                    .iter()
                    .map(|t| t.as_str().to_string()),
            );
        }
        result_size_param::<Self>(&mut p, self.result_size)?;
        if let Some(s) = &self.sort_by {
            check_sort_by::<Self>(s)?;
            p.string("SortBy", s.trim());
        }
        if let Some(ou) = &self.organizational_unit {
            check_non_empty::<Self>("OrganizationalUnit", ou)?;
            p.string("OrganizationalUnit", ou.trim());
        }
        if let Some(a) = &self.authentication_type {
            check_non_empty::<Self>("AuthenticationType", a)?;
            p.string("AuthenticationType", a.trim());
        }
        put_switch(
            &mut p,
            "IncludeSoftDeletedRecipients",
            self.include_soft_deleted_recipients,
        );
        Ok(with_select(
            Invocation::with_kind(Self::INFO.name, Self::INFO.kind, p),
            &self.select,
        ))
    }
}
