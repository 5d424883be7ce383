"""Azure built-in role names and ids the offline checks hold the Bicep against.

Source: Microsoft's "Azure built-in roles" page,
https://learn.microsoft.com/azure/role-based-access-control/built-in-roles (the summary
table of every role, name and id). Each id below was looked up there on 2026-11-30, in
the page's stored copy (MicrosoftDocs, articles/role-based-access-control/
built-in-roles.md); Storage Table Data Contributor and the EventGrid roles in a later
revision of the same page. Built-in role ids are the same in every tenant and never
change, so a role id the Bicep uses that is not here is a typo or a custom role.
"""

from __future__ import annotations

# name -> id; only roles this project uses or could reasonably use.
AZURE_BUILTIN_ROLES: dict[str, str] = {
    "Owner": "8e3af657-a8ff-443c-a75c-2fe8c4bcb635",
    "Contributor": "b24988ac-6180-42a0-ab88-20f7382dd24c",
    "Reader": "acdd72a7-3385-48ef-bd42-f606fba81ae7",
    "Storage Account Contributor": "17d1049b-9a84-46fb-8f53-869881c3d3ab",
    "Storage Blob Data Owner": "b7e6dc6d-f1e8-4753-8033-0f276bb0955b",
    "Storage Blob Data Contributor": "ba92f5b4-2d11-453d-a403-e96b0029c9fe",
    "Storage Blob Data Reader": "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1",
    "Storage Queue Data Contributor": "974c5e8b-45b9-4653-ba55-5f855dd0fb88",
    "Storage Queue Data Message Processor": "8a0f0c08-91a1-4084-bc3d-661d67233fed",
    "Storage Queue Data Message Sender": "c6a89b2d-59bc-44d0-9896-0f6e12d7b80a",
    "Storage Queue Data Reader": "19e7f393-937e-4f77-808e-94535e297925",
    "Storage Table Data Contributor": "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3",
    "Storage Table Data Reader": "76199698-9eea-4c19-bc75-cec21354c6b6",
    "Monitoring Metrics Publisher": "3913510d-42f4-4e42-8a64-420c390055eb",
    "Monitoring Reader": "43d0d8ad-25c7-4714-9337-8ba259a9fe05",
    "Website Contributor": "de139f84-1756-47ae-9be6-808fbbe84772",
    "EventGrid Contributor": "1e241071-0855-49ea-94dc-649edcd759de",
    "EventGrid Data Sender": "d5a91429-5739-47e2-a06b-3470a27159e7",
}

# Cosmos DB's data-plane built-in roles are not Azure RBAC roles: they live under each
# account (`<account id>/sqlRoleDefinitions/<id>`). Source: "Azure Cosmos DB for NoSQL
# data plane role-based access control",
# https://learn.microsoft.com/azure/cosmos-db/nosql/security/reference-data-plane-roles
COSMOS_DATA_ROLES: dict[str, str] = {
    "Cosmos DB Built-in Data Reader": "00000000-0000-0000-0000-000000000001",
    "Cosmos DB Built-in Data Contributor": "00000000-0000-0000-0000-000000000002",
}
