//! Get-Recipient.

use super::*;
use crate::models::{Recipient, RecipientType, RecipientTypeDetails};

request! {
    /// `Get-Recipient`: recipients of the organization.
    ///
    /// Sends `ResultSize: "Unlimited"` unless [`result_size`](Self::result_size) is set. The
    /// typical mobile-device use is
    /// `GetRecipient::new().filter(Filter::eq("HasActiveSyncDevicePartnership", true))`.
    #[derive(Default)]
    pub struct GetRecipient for GET_RECIPIENT -> ListingShape<Recipient>, impl Bespoke {
        /// `-Identity` (parameter set `Identity`).
        identity / get_identity: opt(RecipientIdentity) = "Identity",
        /// `-Anr`: ambiguous-name search (parameter set `AnrSet`).
        anr / get_anr: text = "Anr",
        /// `-RecipientPreviewFilter` (parameter set `RecipientPreviewFilterSet`).
        recipient_preview_filter / get_recipient_preview_filter: verbatim = "RecipientPreviewFilter",
        /// `-Filter` (OPATH).
        filter / get_filter: opt(Filter) = "Filter",
        /// `-RecipientType`.
        recipient_type / get_recipient_type: list(RecipientType) = "RecipientType",
        /// `-RecipientTypeDetails`. When `-RecipientType` is also given, each subtype must
        /// belong to one of those types.
        recipient_type_details / get_recipient_type_details:
            list(RecipientTypeDetails) = "RecipientTypeDetails",
        /// `-ResultSize` (at least 1); without it `Unlimited` is sent.
        result_size / get_result_size: result_size = "ResultSize",
        /// `-SortBy` (Name, DisplayName, Alias, City, FirstName, LastName, Office,
        /// ServerLegacyDN).
        sort_by / get_sort_by: sort_by = "SortBy",
        /// `-OrganizationalUnit`.
        organizational_unit / get_organizational_unit: text = "OrganizationalUnit",
        /// `-AuthenticationType` (`Managed` or `Federated`).
        authentication_type / get_authentication_type: text = "AuthenticationType",
        /// `-IncludeSoftDeletedRecipients`.
        include_soft_deleted_recipients / get_include_soft_deleted_recipients:
            switch = "IncludeSoftDeletedRecipients",
        select / get_select: select = _,
    }
}

impl GetRecipient {
    /// Every recipient.
    pub fn new() -> Self {
        Self::default()
    }
}

impl Bespoke for GetRecipient {
    fn check(&self) -> Result<()> {
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
        Ok(())
    }
}
