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
    },
    "prefix": {"external_id": "hubspot-contact:", "account.external_id": "hubspot-company:"},
    "dates": ["%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d"],
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
}
