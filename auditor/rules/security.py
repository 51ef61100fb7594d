"""Security: the logs must not hold credentials, and the audit must not spread them."""

from __future__ import annotations

from auditor.redact import mask_sql
from auditor.rules.base import Hits, RuleContext, rule


@rule("SEC001", "secret-in-log", "error")
def secret_in_log(ctx: RuleContext) -> Hits | None:
    """A log record holds something that looks like a raw provider key or bearer token.

    What it checks: every field of the source record, nested ones included (metadata, headers copied into
    metadata, aliases, tags, and prompt or response text, however long: the whole value is scanned, JSON-escaped
    text included), against the patterns of live credentials (auditor/redact.py; most ported from gitleaks'
    rules): OpenAI (sk-, sk-proj-, sk-svcacct-), Anthropic (sk-ant-api03-), Langfuse secret keys (sk-lf-),
    Stripe-style sk_live_, AWS access key ids (AKIA..., ASIA...) and AWS secret access keys next to their key
    id, Azure OpenAI keys (32 hex digits in an api-key header), Google (AIza...), GitHub (ghp_, gho_,
    github_pat_), Slack (xox...), Hugging Face and Groq keys, JSON Web Tokens, "Bearer <token>" (any of
    Bearer, BEARER, bearer; after a space or a tab), HTTP Basic authorization values, PEM private key blocks
    and passwords in URLs (the user:password@ part after https://). A Langfuse public key (pk-lf-...) is public by design
    and is not flagged. The loader finds them while reading and masks them in every value the audit keeps; the
    finding names the field and shows the secret masked (first four and last four characters; a password or a
    private key not even that). Trace context spans (agent, tool) are checked too, not only LLM requests.

    Why it matters: a key in a log is a leaked key: anybody who can read the logs (or a chargeback export
    made from them) can spend on it. It must be revoked and the logger fixed. A raw key used as an
    api_key_id also means the gateway is not hashing keys, so the key cannot be shared in reports either.

    Bad: {"request_id": "r1", "api_key_id": "sk-proj-Q2x9...full key...7fA0", "metadata": {"authorization": "Bearer eyJhbGciOi..."}}

    Good: {"request_id": "r1", "api_key_id": "9f86d081884c7d65...(sha256 of the key)", "api_key_alias": "support-prod"}
    """
    sql = (
        f"SELECT _row, 'raw credential in field ' || {mask_sql('secret_field')} || ': ' || coalesce(secret_masked, '…') AS detail,"
        " 'revoke and rotate this key, then stop the logger from writing it (log a hash or an alias instead)' AS fix"
        " FROM records WHERE secret_field IS NOT NULL"
    )
    fields = ctx.rows(
        "SELECT secret_field, count(*) FROM records WHERE secret_field IS NOT NULL GROUP BY 1 ORDER BY 2 DESC, 1"
    )
    if not fields:
        return None
    # Keys told apart by their last four characters (what the mask keeps of every secret, at least 20 long): a
    # bearer token "Bearer sk-…" and the bare key inside it are one key, though their masked forms differ.
    keys = ctx.scalar("SELECT count(DISTINCT right(secret_masked, 4)) FROM records WHERE secret_field IS NOT NULL")
    where = ", ".join(f"{f} ({n:,})" for f, n in fields[:5]).replace("{", "{{").replace("}", "}}")
    return Hits(
        sql=sql,
        message="{count} log records ({cost}) contain a raw API key or bearer token (" + f"{int(keys):,}"
        + " distinct, shown masked) in: " + where + ". Anyone who can read these logs can spend on those keys: "
        "revoke them and stop logging them.",
        extra={"fields": {f: int(n) for f, n in fields}, "distinct_secrets": int(keys)},
    )
