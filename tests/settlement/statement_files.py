"""Bank statement files for tests and the benchmark, in each format, from one list of
(value_date, amount as a decimal string, reference) lines."""

from decimal import Decimal


def csv_statement(ref, lines, *, opening="1000.00", closing=None, currency="USD"):
    closing = closing or _closing(opening, lines)
    day = lines[0][0]
    rows = ["record,statement_id,currency,date,amount,reference,description"]
    rows.append(f"opening,{ref},{currency},{day},{opening},,")
    rows += [f"line,{ref},{currency},{d},{a},{r},line {n}" for n, (d, a, r) in enumerate(lines)]
    rows.append(f"closing,{ref},{currency},{lines[-1][0]},{closing},,")
    return ("\n".join(rows) + "\n").encode()


def mt940_statement(ref, lines, *, opening="1000.00", closing=None, currency="USD"):
    closing = closing or _closing(opening, lines)
    day = lines[0][0]

    def amount(text):
        value = Decimal(text)
        return ("D" if value < 0 else "C"), f"{abs(value):.2f}".replace(".", ",")

    sign, value = amount(opening)
    out = [":20:" + ref, ":25:CLEARHOUSE/USD", ":28C:1/1"]
    out.append(f":60F:{sign}{day:%y%m%d}{currency}{value}")
    for d, a, r in lines:
        sign, value = amount(a)
        out += [f":61:{d:%y%m%d}{d:%m%d}{sign}{value}NTRF{r or 'NONREF'}", f":86:line {r}"]
    sign, value = amount(closing)
    out.append(f":62F:{sign}{lines[-1][0]:%y%m%d}{currency}{value}")
    return ("\r\n".join(out) + "\r\n").encode()


def camt053_statement(ref, lines, *, opening="1000.00", closing=None, currency="USD"):
    closing = closing or _closing(opening, lines)
    day = lines[0][0]

    def balance(kind, text, when):
        value = Decimal(text)
        return (
            f"<Bal><Tp><CdOrPrtry><Cd>{kind}</Cd></CdOrPrtry></Tp>"
            f'<Amt Ccy="{currency}">{abs(value):.2f}</Amt>'
            f"<CdtDbtInd>{'DBIT' if value < 0 else 'CRDT'}</CdtDbtInd>"
            f"<Dt><Dt>{when}</Dt></Dt></Bal>"
        )

    entries = "".join(
        f'<Ntry><Amt Ccy="{currency}">{abs(Decimal(a)):.2f}</Amt>'
        f"<CdtDbtInd>{'DBIT' if Decimal(a) < 0 else 'CRDT'}</CdtDbtInd><Sts>BOOK</Sts>"
        f"<BookgDt><Dt>{d}</Dt></BookgDt><ValDt><Dt>{d}</Dt></ValDt>"
        f"<NtryDtls><TxDtls><Refs><EndToEndId>{r or 'NOTPROVIDED'}</EndToEndId></Refs>"
        f"</TxDtls></NtryDtls></Ntry>"
        for d, a, r in lines
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt>'
        f"<GrpHdr><MsgId>{ref}-MSG</MsgId><CreDtTm>{day}T18:00:00</CreDtTm></GrpHdr>"
        f"<Stmt><Id>{ref}</Id><Acct><Id><IBAN>GB00CLEAR0001</IBAN></Id><Ccy>{currency}</Ccy>"
        f"</Acct>{balance('OPBD', opening, day)}{balance('CLBD', closing, lines[-1][0])}"
        f"{entries}</Stmt></BkToCstmrStmt></Document>"
    ).encode()


def _closing(opening, lines) -> str:
    return f"{Decimal(opening) + sum(Decimal(a) for _, a, _ in lines):.2f}"


BUILDERS = {"csv": csv_statement, "mt940": mt940_statement, "camt053": camt053_statement}
