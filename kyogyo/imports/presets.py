"""Built-in mappings for the column names of common exports. Column names that are absent
from a file are ignored, so one preset covers both the screen export (labels) and the
API export (field names) where they differ."""

from __future__ import annotations

from typing import Any

COUNTRIES = {
    "japan": "JP",
    "日本": "JP",
    "united states": "US",
    "united states of america": "US",
    "usa": "US",
    "united kingdom": "GB",
    "uk": "GB",
    "germany": "DE",
    "france": "FR",
    "china": "CN",
    "south korea": "KR",
    "korea, republic of": "KR",
    "singapore": "SG",
    "australia": "AU",
    "canada": "CA",
    "india": "IN",
}
OPT_OUT = {"1": "withdrawn", "true": "withdrawn", "yes": "withdrawn", "0": "", "false": "", "no": ""}

GENERIC_ACCOUNTS: dict[str, Any] = {
    "columns": {
        name: name
        for name in (
            "name",
            "domain",
            "industry",
            "employee_count",
            "country",
            "segment",
            "kind",
            "external_id",
            "created_at",
        )
    },
    "values": {"country": COUNTRIES},
}
GENERIC_CONTACTS: dict[str, Any] = {
    "columns": {
        **{
            name: name
            for name in (
                "email",
                "first_name",
                "last_name",
                "title",
                "phone",
                "consent",
                "source",
                "owner",
                "external_id",
                "created_at",
            )
        },
        "account_name": "account.name",
        "account_domain": "account.domain",
        "account_external_id": "account.external_id",
    },
}

HUBSPOT_COMPANIES: dict[str, Any] = {
    "columns": {
        "Record ID": "external_id",
        "Company name": "name",
        "Company Domain Name": "domain",
        "Industry": "industry",
        "Number of Employees": "employee_count",
        "Country/Region": "country",
        "Type": "kind",
        "Create Date": "created_at",
    },
    "values": {
        "country": COUNTRIES,
        "kind": {
            "prospect": "prospect",
            "partner": "partner",
            "reseller": "partner",
            "vendor": "partner",
            "other": "prospect",
            "customer": "customer",
            "competitor": "competitor",
        },
    },
    "prefix": {"external_id": "hubspot-company:"},
    "dates": ["%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d"],
}
_HUBSPOT_DATES = ["%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d"]
# HubSpot's lifecycle stages → ours: the "Became a … Date" columns of the contacts export
# (labels, and the internal names of an API export) become transitions in date order.
# HubSpot has no SAL: an SQL passes through it. Subscriber, evangelist and "other" have no
# stage of ours and are not mapped.
HUBSPOT_LIFECYCLE = {
    "Became a Lead Date": "lifecycle.lead",
    "Became a Marketing Qualified Lead Date": "lifecycle.mql",
    "Became a Sales Qualified Lead Date": "lifecycle.sql",
    "Became an Opportunity Date": "lifecycle.opportunity",
    "Became a Customer Date": "lifecycle.won",
    "hs_lifecyclestage_lead_date": "lifecycle.lead",
    "hs_lifecyclestage_marketingqualifiedlead_date": "lifecycle.mql",
    "hs_lifecyclestage_salesqualifiedlead_date": "lifecycle.sql",
    "hs_lifecyclestage_opportunity_date": "lifecycle.opportunity",
    "hs_lifecyclestage_customer_date": "lifecycle.won",
}
HUBSPOT_CONTACTS: dict[str, Any] = {
    "columns": {
        "Record ID": "external_id",
        "First Name": "first_name",
        "Last Name": "last_name",
        "Email": "email",
        "Phone Number": "phone",
        "Job Title": "title",
        "Company Name": "account.name",
        "Associated Company": "account.name",
        "Associated Company ID": "account.external_id",
        "Associated Company IDs": "account.external_id",  # several, ";"-separated: the first
        "Original Source": "source",
        "Create Date": "created_at",
        **HUBSPOT_LIFECYCLE,
    },
    "prefix": {"external_id": "hubspot-contact:", "account.external_id": "hubspot-company:"},
    "dates": _HUBSPOT_DATES,
}

_SF_DATES = ["%m/%d/%Y", "%m/%d/%Y %H:%M", "%m/%d/%Y %I:%M %p", "%Y-%m-%dT%H:%M:%S.%f%z", "%Y-%m-%d"]
SALESFORCE_ACCOUNTS: dict[str, Any] = {
    "columns": {
        "Account ID": "external_id",
        "Id": "external_id",
        "Account Name": "name",
        "Name": "name",
        "Website": "domain",
        "Industry": "industry",
        "Employees": "employee_count",
        "NumberOfEmployees": "employee_count",
        "Billing Country": "country",
        "BillingCountry": "country",
        "Type": "kind",
        "Created Date": "created_at",
        "CreatedDate": "created_at",
    },
    "values": {
        "country": COUNTRIES,
        "kind": {
            "prospect": "prospect",
            "customer - direct": "customer",
            "customer - channel": "customer",
            "channel partner / reseller": "partner",
            "installation partner": "partner",
            "technology partner": "partner",
            "other": "prospect",
        },
    },
    "prefix": {"external_id": "salesforce:"},
    "dates": _SF_DATES,
}
SALESFORCE_CONTACTS: dict[str, Any] = {
    "columns": {
        "Contact ID": "external_id",
        "Id": "external_id",
        "First Name": "first_name",
        "FirstName": "first_name",
        "Last Name": "last_name",
        "LastName": "last_name",
        "Title": "title",
        "Email": "email",
        "Phone": "phone",
        "Lead Source": "source",
        "LeadSource": "source",
        "Account ID": "account.external_id",
        "AccountId": "account.external_id",
        "Account Name": "account.name",
        "Email Opt Out": "consent",
        "HasOptedOutOfEmail": "consent",
        "Created Date": "created_at",
        "CreatedDate": "created_at",
    },
    "values": {"consent": OPT_OUT},
    "prefix": {"external_id": "salesforce:", "account.external_id": "salesforce:"},
    "dates": _SF_DATES,
}
SALESFORCE_LEADS: dict[str, Any] = {
    "columns": {
        "Lead ID": "external_id",
        "Id": "external_id",
        "First Name": "first_name",
        "FirstName": "first_name",
        "Last Name": "last_name",
        "LastName": "last_name",
        "Title": "title",
        "Email": "email",
        "Phone": "phone",
        "Lead Source": "source",
        "LeadSource": "source",
        "Company": "account.name",
        "Website": "account.domain",
        "Email Opt Out": "consent",
        "HasOptedOutOfEmail": "consent",
        "Created Date": "created_at",
        "CreatedDate": "created_at",
    },
    "values": {"consent": OPT_OUT},
    "prefix": {"external_id": "salesforce:"},
    "accounts": {"by": ["domain", "name"], "create": True},
    "dates": _SF_DATES,
}

# The standard opportunity stages of Salesforce → our pipeline (ops/defaults.py PIPELINE).
SALESFORCE_STAGES = {
    "prospecting": "discovery",
    "qualification": "discovery",
    "needs analysis": "discovery",
    "value proposition": "solution",
    "id. decision makers": "solution",
    "perception analysis": "solution",
    "proposal/price quote": "proposal",
    "negotiation/review": "negotiation",
    "closed won": "closed_won",
    "closed lost": "closed_lost",
}
SALESFORCE_OPPORTUNITIES: dict[str, Any] = {
    "columns": {
        "Opportunity ID": "external_id",
        "Id": "external_id",
        "Opportunity Name": "name",
        "Name": "name",
        "Account ID": "account.external_id",
        "AccountId": "account.external_id",
        "Account Name": "account.name",
        "Contact ID": "contact.external_id",
        "ContactId": "contact.external_id",
        "Stage": "stage",
        "StageName": "stage",
        "Amount": "amount",
        "Amount Currency": "currency",
        "Opportunity Currency": "currency",
        "CurrencyIsoCode": "currency",
        "Probability (%)": "probability",
        "Probability": "probability",
        "Close Date": "expected_close",
        "CloseDate": "expected_close",
        "Created Date": "created_at",
        "CreatedDate": "created_at",
    },
    "values": {"stage": SALESFORCE_STAGES},
    # The standard export has no loss reason; give yours with a mapping that extends this preset.
    "defaults": {"loss_reason": "no_decision"},
    "prefix": {
        "external_id": "salesforce:",
        "account.external_id": "salesforce:",
        "contact.external_id": "salesforce:",
    },
    "accounts": {"by": ["external_id", "name"], "create": True},
    "contacts": {"by": ["external_id", "email"], "first_of_account": True},
    "dates": _SF_DATES,
}

# The stages of HubSpot's default sales pipeline (export labels and internal values) → ours.
HUBSPOT_STAGES = {
    "appointment scheduled": "discovery",
    "appointmentscheduled": "discovery",
    "qualified to buy": "discovery",
    "qualifiedtobuy": "discovery",
    "presentation scheduled": "solution",
    "presentationscheduled": "solution",
    "decision maker bought-in": "proposal",
    "decisionmakerboughtin": "proposal",
    "contract sent": "negotiation",
    "contractsent": "negotiation",
    "closed won": "closed_won",
    "closedwon": "closed_won",
    "closed lost": "closed_lost",
    "closedlost": "closed_lost",
}
HUBSPOT_DEALS: dict[str, Any] = {
    "columns": {
        "Record ID": "external_id",
        "Deal Name": "name",
        "Deal Stage": "stage",
        "Amount": "amount",
        "Currency": "currency",
        "Close Date": "expected_close",
        "Create Date": "created_at",
        "Closed Lost Reason": "loss_note",
        "Associated Company IDs": "account.external_id",
        "Associated Company IDs (Primary)": "account.external_id",
        "Associated Company": "account.name",
        "Associated Contact IDs": "contact.external_id",
    },
    "values": {"stage": HUBSPOT_STAGES},
    # "Closed Lost Reason" is free text: it is kept as the note of the loss.
    "defaults": {"loss_reason": "no_decision"},
    "prefix": {
        "external_id": "hubspot-deal:",
        "account.external_id": "hubspot-company:",
        "contact.external_id": "hubspot-contact:",
    },
    "contacts": {"by": ["external_id", "email"], "first_of_account": True},
    "dates": _HUBSPOT_DATES,
}


def _generic(*names: str) -> dict[str, str]:
    """Field names as column names; ``account.x`` / ``contact.x`` / ``deal.x`` as ``account_x`` …"""
    return {name.replace(".", "_"): name for name in names}


GENERIC_DEALS: dict[str, Any] = {
    "columns": _generic(
        "external_id",
        "name",
        "amount",
        "currency",
        "stage",
        "status",
        "probability",
        "expected_close",
        "created_at",
        "closed_at",
        "owner",
        "loss_reason",
        "loss_note",
        "account.external_id",
        "account.domain",
        "account.name",
        "contact.external_id",
        "contact.email",
    ),
}
GENERIC_SUBSCRIPTIONS: dict[str, Any] = {
    "columns": _generic(
        "external_id",
        "plan",
        "mrr",
        "currency",
        "billing_period",
        "starts_on",
        "ends_on",
        "event",
        "occurred_on",
        "deal.external_id",
        "account.external_id",
        "account.domain",
        "account.name",
        "contact.external_id",
        "contact.email",
    ),
}
GENERIC_NPS: dict[str, Any] = {
    "columns": _generic("contact.external_id", "contact.email", "score", "comment", "answered_at"),
}
GENERIC_LIFECYCLE: dict[str, Any] = {
    "columns": _generic("contact.external_id", "contact.email", "stage", "at", "reason", "note"),
}

GENERIC_ACTIVITIES: dict[str, Any] = {
    "columns": {
        "external_id": "external_id",
        "type": "type",
        "occurred_at": "occurred_at",
        "source": "source",
        "contact_email": "contact.email",
        "contact_external_id": "contact.external_id",
        "note": "payload.note",
    },
}

PRESETS: dict[str, dict[str, dict[str, Any]]] = {
    "accounts": {
        "generic": GENERIC_ACCOUNTS,
        "hubspot-companies": HUBSPOT_COMPANIES,
        "salesforce-accounts": SALESFORCE_ACCOUNTS,
    },
    "contacts": {
        "generic": GENERIC_CONTACTS,
        "hubspot-contacts": HUBSPOT_CONTACTS,
        "salesforce-contacts": SALESFORCE_CONTACTS,
        "salesforce-leads": SALESFORCE_LEADS,
    },
    "activities": {"generic": GENERIC_ACTIVITIES},
    "deals": {
        "generic": GENERIC_DEALS,
        "hubspot-deals": HUBSPOT_DEALS,
        "salesforce-opportunities": SALESFORCE_OPPORTUNITIES,
    },
    "subscriptions": {"generic": GENERIC_SUBSCRIPTIONS},
    "nps": {"generic": GENERIC_NPS},
    "lifecycle": {"generic": GENERIC_LIFECYCLE},
}
