"""Which local accounts receive mail for an address.

Resolution order for ``local@domain`` on a local domain:
1. an account with that address;
2. an alias with that address (expanded recursively, loops cut);
3. the subaddress base: ``user+tag@domain`` is ``user@domain`` (RFC 5233 §1 calls the
   part after the separator the "detail"), then 1-2 again;
4. the domain's catch-all alias ``@domain``;
5. ``postmaster`` (RFC 5321 §4.5.1: "MUST support the reserved mailbox "postmaster" as a
   case-insensitive local name"): the configured postmaster address, else the oldest
   account of that domain, so the requirement holds on a fresh install.

Domains are looked up in A-label form, the form the store keys on: with SMTPUTF8 a client
"MAY transmit the domain parts of mailbox names within SMTP commands ... as A-labels or
U-labels" (RFC 6531 §3.2), and both name the same domain.
"""

from __future__ import annotations

from dataclasses import dataclass

from reference.store.interface import Account, AccountId, MailStore

# Alias chains deeper than this are configuration errors, not mail routes.
MAX_ALIAS_DEPTH = 10


@dataclass(frozen=True, slots=True)
class Recipient:
    """One local account reached by an envelope recipient."""

    account_id: AccountId
    address: str          # the account's address
    detail: str | None    # RFC 5233 subaddress detail, if the recipient had one


class LocalDelivery:
    def __init__(self, store: MailStore, *, subaddress_separator: str = "+",
                 postmaster: str | None = None) -> None:
        self.store = store
        self.subaddress_separator = subaddress_separator
        self.postmaster = postmaster.lower() if postmaster else None

    async def is_local_domain(self, domain: str) -> bool:
        return await self.store.is_local_domain(a_label_domain(domain))

    async def resolve(self, local_part: str, domain: str) -> list[Recipient]:
        """The accounts that receive mail for ``local_part@domain`` (a local domain);
        empty when the address does not exist."""
        domain = a_label_domain(domain)
        local = local_part.lower()
        accounts = await self._expand(f"{local}@{domain}", depth=0, seen=set())
        detail = None
        if not accounts and self.subaddress_separator and self.subaddress_separator in local:
            base, _, detail = local.partition(self.subaddress_separator)
            if base:
                accounts = await self._expand(f"{base}@{domain}", depth=0, seen=set())
        if not accounts:
            detail = None
            accounts = await self._expand_alias(f"@{domain}", depth=0, seen=set())
        if not accounts and local == "postmaster":
            accounts = await self._postmaster(domain)
        unique = {account.id: account for account in accounts}
        return [Recipient(a.id, a.address, detail) for a in unique.values()]

    async def _expand(self, address: str, *, depth: int, seen: set[str]) -> list[Account]:
        account = await self.store.get_account(address)
        if account is not None:
            return [account]
        return await self._expand_alias(address, depth=depth, seen=seen)

    async def _expand_alias(self, address: str, *, depth: int,
                            seen: set[str]) -> list[Account]:
        if depth >= MAX_ALIAS_DEPTH or address in seen:
            return []
        seen.add(address)
        alias = await self.store.get_alias(address)
        if alias is None:
            return []
        accounts: list[Account] = []
        for target in alias.targets:
            accounts += await self._expand(target.lower(), depth=depth + 1, seen=seen)
        return accounts

    async def resolve_postmaster(self) -> list[Recipient]:
        """RFC 5321 §4.1.1.3 "<Postmaster>" without a domain."""
        return [Recipient(a.id, a.address, None) for a in await self._postmaster(None)]

    async def _postmaster(self, domain: str | None) -> list[Account]:
        if self.postmaster:
            return await self._expand(self.postmaster, depth=0, seen=set())
        accounts = await self.store.list_accounts()
        same_domain = [a for a in accounts if domain and a.address.endswith("@" + domain)]
        chosen = same_domain or accounts
        return [min(chosen, key=lambda a: (a.created, a.id))] if chosen else []

    async def may_send_as(self, account: Account, sender: str) -> bool:
        """RFC 6409 §6.1: the submitting user may use their own address, an alias that
        delivers to them, or a subaddress of either."""
        local, _, domain = sender.rpartition("@")
        sender = f"{local}@{a_label_domain(domain)}".lower() if domain else sender.lower()
        if self.subaddress_separator:
            local, _, domain = sender.rpartition("@")
            base = local.split(self.subaddress_separator, 1)[0]
            candidates = {sender, f"{base}@{domain}"}
        else:
            candidates = {sender}
        if account.address in candidates:
            return True
        return bool(candidates & set(await self.store.aliases_of(account.address)))


def a_label_domain(domain: str) -> str:
    """``domain`` in lower case with every U-label converted to its A-label (RFC 5890
    §2.3.2.1). DEVIATION: Python's codec implements IDNA 2003, not RFC 5891's IDNA 2008, as
    in reference.smtp.grammar.check_u_labels; the two agree on the common scripts. A label
    that cannot be converted is kept, so the lookup simply finds nothing."""
    if domain.isascii():
        return domain.lower()
    labels = []
    for label in domain.split("."):
        try:
            labels.append(label if label.isascii() else label.encode("idna").decode("ascii"))
        except UnicodeError:
            labels.append(label)
    return ".".join(labels).lower()
