"""A labelled set of comments for the spam filter's tests, generated with a fixed seed.

Ham: on-topic remarks on a blog about security, software and everyday life, in varied wording,
from ordinary addresses and browsers; some with a link to a reference, some about scams
(so that "bitcoin" or "casino" alone proves nothing). Spam: pharmacy, casino, crypto and SEO
link spam and "great post!" spam with a keyword name and a website, in spun wording, with
links to bad domains, from scripts, old browsers and modern ones. The two halves use spam
domains of their own, as a new wave would.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from blog.sanitize import sanitize_comment


@dataclass(frozen=True)
class Labelled:
    name: str
    email: str
    url: str
    body: str
    user_agent: str
    spam: bool

    @property
    def body_html(self) -> str:
        return sanitize_comment(self.body)


FIRST = [
    "Anna",
    "Ben",
    "Chloe",
    "Daniel",
    "Emma",
    "Farid",
    "Grace",
    "Hugo",
    "Isla",
    "Jonas",
    "Kasia",
    "Liam",
    "Maya",
    "Nadia",
    "Oscar",
    "Priya",
    "Quentin",
    "Rosa",
    "Sam",
    "Tomasz",
    "Uma",
    "Victor",
    "Wen",
    "Xavier",
    "Yusuf",
    "Zoe",
    "Alice",
    "Bruno",
    "Carmen",
    "Dmitri",
    "Elena",
    "Finn",
    "Greta",
    "Hamid",
    "Ines",
    "Jakub",
    "Keiko",
    "Lars",
    "Marta",
    "Nikos",
    "Olga",
    "Pedro",
    "Rahul",
    "Sofia",
    "Theo",
    "Ulla",
]
LAST = [
    "Smith",
    "Jones",
    "Nowak",
    "Garcia",
    "Müller",
    "Rossi",
    "Dubois",
    "Kowalski",
    "Okafor",
    "Tanaka",
    "Silva",
    "Novak",
    "Jensen",
    "Brown",
    "Evans",
    "Patel",
    "Murphy",
    "Schmidt",
    "Costa",
    "Lindqvist",
    "Moreau",
    "Kaya",
    "Horvat",
    "Ahmed",
    "Byrne",
    "Walsh",
]
HAM_MAIL = [
    "gmail.com",
    "outlook.com",
    "yahoo.co.uk",
    "hotmail.com",
    "proton.me",
    "icloud.com",
    "gmx.de",
    "web.de",
    "orange.fr",
    "btinternet.com",
    "fastmail.com",
    "posteo.de",
    "ox.ac.uk",
    "uni-bonn.de",
    "acme-corp.com",
]
TOPICS = [
    "password managers",
    "two-factor authentication",
    "the UK office closing",
    "phishing simulations",
    "offline backups",
    "VPN logging policies",
    "patch management",
    "ransomware insurance",
    "browser extensions",
    "SQLite in production",
    "Flask blueprints",
    "the Kaspersky ban",
    "endpoint protection",
    "hardware security keys",
    "the new GDPR fines",
    "open source licences",
    "home network segmentation",
    "sourdough starters",
    "the train strike",
    "cycling to work in winter",
]
THINGS = [
    "mail server",
    "antivirus licences",
    "laptops",
    "build pipeline",
    "router",
    "password vault",
    "team",
    "Raspberry Pi",
    "database",
    "old NAS",
]
OUTCOMES = [
    "it went better than expected",
    "nobody noticed for a week",
    "we had to roll back twice",
    "support tickets dropped by half",
    "the auditors were finally happy",
    "it was a nightmare with the older machines",
    "it cost less than the renewal would have",
]
OPENERS = [
    "Thanks for writing this up.",
    "Interesting read, as usual.",
    "Good point about {topic}.",
    "I'm not sure I agree with you on {topic}.",
    "This matches what we saw at work.",
    "Clear explanation of {topic}, thank you.",
    "I had never thought about {topic} that way.",
    "Slightly off topic, but",
    "Hi {author},",
    "Quick question about {topic}.",
    "Nice summary.",
    "Long-time reader, first comment.",
    "",
]
MIDDLES = [
    "We moved our {thing} away from them last year and {outcome}.",
    "Do you know whether the same applies to small businesses, or only to public bodies?",
    "In my experience the hard part is getting people to actually use it.",
    "The paragraph on {topic} could mention that the defaults changed in the latest release.",
    "Our IT department still insists on {topic}, and honestly I see why after reading this.",
    "My brother works in a school and they are dealing with exactly this at the moment.",
    "How long did the migration take you, roughly?",
    "I tried the steps from the post on my {thing} and they worked, except the last one.",
    "Would you write a follow-up on {topic}? I would read it.",
    "A colleague got one of those fake invoice emails yesterday; it looked very convincing.",
    "The scam calls promising free bitcoin have started here too, mostly aimed at pensioners.",
    "Someone at the pub was convinced that online casino sites are safe if they have a padlock.",
    "Is there a reason you prefer this over the built-in tool? I found it simpler.",
    "The comparison table is useful, but the prices seem to be from last year.",
    "It took me two evenings to set up {topic} at home, mostly reading documentation.",
    "We had an incident with {topic} last spring; the lesson was to test restores, not backups.",
    "Fair enough, although I think the risk is overstated for a home user.",
    "I shared this with my team; it started a good discussion about {topic}.",
    'There\'s a typo in the third paragraph ("there" instead of "their").',
    "Crypto wallets are another thing people forget to back up properly.",
]
CLOSERS = [
    "Thanks again!",
    "Cheers, {first}",
    "Looking forward to the next post.",
    "Any thoughts?",
    "Keep it up.",
    "",
    "",
    "Best regards",
]
REFERENCES = [
    "https://en.wikipedia.org/wiki/Multi-factor_authentication",
    "https://github.com/pallets/flask/issues",
    "https://www.ncsc.gov.uk/collection/top-tips-for-staying-secure-online",
    "https://www.bbc.co.uk/news/technology",
    "https://docs.python.org/3/library/ipaddress.html",
    "https://www.sqlite.org/wal.html",
    "https://krebsonsecurity.com/",
    "https://arstechnica.com/security/",
]
MODERN_AGENTS = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.5 Safari/605.1.15",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
    "Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (X11; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/125.0.0.0 Safari/537.36 Edg/125.0.0.0",
]
BOT_AGENTS = [
    "",
    "python-requests/2.31.0",
    "curl/7.68.0",
    "Mozilla/4.0 (compatible; MSIE 6.0; Windows NT 5.1; SV1)",
    "Mozilla/5.0 (Windows NT 6.1; WOW64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/49.0.2623.112 Safari/537.36",
    "Java/1.8.0_151",
]

DRUGS = [
    "viagra",
    "cialis",
    "levitra",
    "tramadol",
    "xanax",
    "phentermine",
    "ambien",
    "valium",
    "modafinil",
]
SPAM_TLDS = [
    "ru",
    "xyz",
    "top",
    "click",
    "online",
    "info",
    "biz",
    "pw",
    "icu",
    "site",
    "shop",
    "su",
]
SPAM_WORDS = [
    "cheap",
    "best",
    "buy",
    "online",
    "pills",
    "pharmacy",
    "meds",
    "casino",
    "slots",
    "spins",
    "bonus",
    "jackpot",
    "bet",
    "poker",
    "crypto",
    "bitcoin",
    "btc",
    "trade",
    "profit",
    "invest",
    "loans",
    "seo",
    "rank",
    "backlinks",
    "traffic",
    "essay",
    "writing",
    "replica",
    "watches",
    "dating",
]
PHARMA = [
    "{Buy|Order|Get} {drug} online {without prescription|no prescription needed|with no rx}! "
    "{Cheap|Discount|Lowest} prices, {fast|overnight|discreet} delivery: {link}",
    "{Generic|Original|Brand} {drug} {50|100|200}mg {from|at only} ${price} per pill. "
    "{Visit|Check|See} {link} {today|now}.",
    "{Hello|Hi|Hey}! {drug} {and|plus} {drug2} {in stock|available now}, {best|top} {online "
    "pharmacy|drugstore}, {link} {link2}",
    '<a href="{url}">{buy|order|cheap} {drug}</a> <a href="{url2}">{drug2} {online|'
    'without prescription}</a> <a href="{url3}">{pharmacy|meds} {online|24/7}</a>',
]
CASINO = [
    "{Best|Top|Trusted} online casino {2024|2025|of the year}: {200|500|1000} free spins and "
    "{a|an exclusive} ${price} no deposit bonus! {Play|Join|Sign up} now {link}",
    "{Win|Earn} real money {playing|with} slots, {poker|roulette|blackjack}. {Instant|Fast} "
    "withdrawals, {bonus|jackpot} every day {link}",
    "[url={url}]{online casino|casino bonus|free spins}[/url] [url={url2}]{real money slots|"
    "best betting site}[/url]",
    "{Looking for|Want} {a|the} {best|biggest} {casino bonus|jackpot}? {Visit|Go to} {link} "
    "{and|to} {claim|get} {it|yours} {now|today}!!!",
]
CRYPTO = [
    "{I|My friend} {made|earned} ${price}00 {in a week|last month|in 3 days} with {this|a} "
    "{crypto|bitcoin|AI} trading bot, {no experience needed|100% automatic}: {link}",
    "{Invest|Put} {0.1|0.5|1} BTC {and|to} {get|receive} {double|2x|3x} {back|profit} "
    "{guaranteed|in 24 hours}. {Contact|Message} us {at|on} {link}",
    "{Free|Exclusive} USDT airdrop {for|to} {early users|everyone}, {connect|link} your "
    "wallet {at|on} {link} {before it ends|limited time}",
    "{Recover|Get back} your {lost|stolen|scammed} {crypto|bitcoin|funds} {fast|today}, "
    "{certified|licensed} {recovery experts|hackers}: {link}",
]
SEO = [
    "{Hi|Hello|Dear} {admin|webmaster|site owner}, {I|we} {can|will} {rank|put} your "
    "{website|site} on {Google|the} first page {with|using} {high quality|DA 50+|powerful} "
    "backlinks. {Cheap|Affordable} SEO {services|packages}: {link}",
    "{Need|Want} more {traffic|visitors|sales}? {We|I} {sell|offer} {guest posts|backlinks|"
    "SEO packages} {on|from} {high DA|authority} sites. {Details|Prices} {at|here} {link}",
    "{Professional|Cheap|Fast} {essay writing|dissertation help|homework} service, "
    "{plagiarism free|100% original}, {order|buy} {now|today} {link}",
    "{Buy|Get} {replica watches|designer bags|cheap sneakers} {online|at outlet prices} "
    "{link} {link2}",
]
PRAISE = [
    "{Great|Awesome|Nice|Wonderful|Fantastic} {post|article|blog}! {I will|I'll} "
    "{bookmark|share} {it|this} {and|then} {come back|return} {later|soon}.",
    "{Wow|Hey there}, this {article|paragraph|post} is {pleasant|fastidious|good}, my "
    "{sister|cousin} is analyzing {these|such} things, {thus|so} I am going to {inform|convey} "
    "her.",
    "{Hi|Hello} {mates|colleagues}, {how is everything|its great post}, and what you "
    "{wish|desire} to say {about|concerning} this {post|paragraph}, in my view its {really|"
    "truly} {amazing|awesome} {designed|for me}.",
    "{Very|Really|Extremely} {informative|useful|helpful} {post|article}. {Thanks for sharing|"
    "Keep it up|Please keep writing}! {Also visit my|Check out my|Feel free to surf to my} "
    "{blog|site|web page} {link}",
]
SPAM_KINDS = [PHARMA, CASINO, CRYPTO, SEO, PRAISE]
SPAM_NAMES = [
    "Cheap {drug}",
    "buy {drug} online",
    "online casino",
    "Best SEO Services",
    "CryptoKing{n}",
    "free spins",
    "{first}",
    "{first} {last}",
    "essay writing service",
    "replica watches",
    "{word} {word2}",
    "bitcoin trading bot",
]


def spin(text: str, rnd: random.Random) -> str:
    """Pick one option of each ``{a|b|c}`` group."""
    out: list[str] = []
    i = 0
    while i < len(text):
        if text[i] == "{" and "|" in text[i : text.find("}", i)]:
            end = text.index("}", i)
            out.append(rnd.choice(text[i + 1 : end].split("|")))
            i = end + 1
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def _slug(*words: str) -> str:
    return "-".join(w.lower() for w in words)


def _ham(rnd: random.Random) -> Labelled:
    first, last, n = rnd.choice(FIRST), rnd.choice(LAST), rnd.randint(1, 99)
    name = rnd.choice([f"{first} {last}", first, f"{first} {last[0]}.", f"{first.lower()}{n}"])
    local = rnd.choice([f"{first}.{last}", f"{first[0]}{last}", f"{first}{n}", first]).lower()
    email = f"{local}@{rnd.choice(HAM_MAIL)}".replace("ü", "u")
    url = rnd.choice(
        ["", "", "", f"https://{_slug(first, last)}.net", f"https://github.com/{first}"]
    )
    fill = {
        "topic": rnd.choice(TOPICS),
        "thing": rnd.choice(THINGS),
        "outcome": rnd.choice(OUTCOMES),
        "author": rnd.choice(["Evans", "there", "all"]),
        "first": first,
    }
    parts = [rnd.choice(OPENERS)]
    parts += [rnd.choice(MIDDLES) for _ in range(rnd.choice([1, 1, 2, 3]))]
    if rnd.random() < 0.2:
        parts.append(f"More here: {rnd.choice(REFERENCES)}")
    parts.append(rnd.choice(CLOSERS))
    body = " ".join(p.format(**fill) for p in parts if p).strip()
    if rnd.random() < 0.3:
        body = body.replace(". ", ".\n\n", 1)
    return Labelled(name, email, url, body, rnd.choice(MODERN_AGENTS), spam=False)


def _spam_link(rnd: random.Random, domains: list[str]) -> str:
    path = rnd.choice(["", "/", "/buy", "/go/", "/?ref=blog", f"/{rnd.choice(SPAM_WORDS)}.html"])
    return f"{rnd.choice(['http', 'https'])}://{rnd.choice(domains)}{path}"


def _spam(rnd: random.Random, domains: list[str]) -> Labelled:
    template = rnd.choice(rnd.choice(SPAM_KINDS))
    urls = [_spam_link(rnd, domains) for _ in range(3)]
    drug, drug2 = rnd.sample(DRUGS, 2)
    first, last = rnd.choice(FIRST), rnd.choice(LAST)
    word, word2 = rnd.sample(SPAM_WORDS, 2)
    fill = {
        "drug": drug,
        "drug2": drug2,
        "price": str(rnd.randint(1, 99)),
        "link": urls[0],
        "link2": urls[1],
        "url": urls[0],
        "url2": urls[1],
        "url3": urls[2],
        "n": str(rnd.randint(1, 999)),
        "first": first,
        "last": last,
        "word": word,
        "word2": word2,
    }
    body = spin(template, rnd)
    for key, value in fill.items():
        body = body.replace("{" + key + "}", value)
    if "{link}" not in template and rnd.random() < 0.5 and template not in PRAISE:
        body += " " + urls[1]
    name = spin(rnd.choice(SPAM_NAMES), rnd)
    for key, value in fill.items():
        name = name.replace("{" + key + "}", value)
    mail_domain = rnd.choice([rnd.choice(HAM_MAIL[:4]), "mail.ru", rnd.choice(domains)])
    local = rnd.choice(
        [f"{word}{rnd.randint(100, 99999)}", f"{first.lower()}{rnd.randint(1, 9999)}"]
    )
    url = rnd.choice(["", _spam_link(rnd, domains), _spam_link(rnd, domains)])
    agent = rnd.choice([rnd.choice(BOT_AGENTS), rnd.choice(MODERN_AGENTS)])
    return Labelled(name, f"{local}@{mail_domain}".replace("ü", "u"), url, body, agent, spam=True)


def spam_domains(rnd: random.Random, n: int) -> list[str]:
    made: list[str] = []
    while len(made) < n:
        words = rnd.sample([*SPAM_WORDS, *DRUGS], rnd.choice([1, 2, 2, 3]))
        sep = rnd.choice(["", "-"])
        made.append(
            f"{sep.join(words)}{rnd.randint(1, 99) if rnd.random() < 0.3 else ''}"
            f".{rnd.choice(SPAM_TLDS)}"
        )
    return made


def corpus(seed: int = 7, ham: int = 300, spam: int = 300) -> tuple[list[Labelled], list[Labelled]]:
    """Two halves (train, held out), each half ham and half spam, shuffled; spam in each half
    links to domains of its own."""
    rnd = random.Random(seed)
    halves: list[list[Labelled]] = [[], []]
    for half in halves:
        domains = spam_domains(rnd, 40)
        half.extend(_ham(rnd) for _ in range(ham // 2))
        half.extend(_spam(rnd, domains) for _ in range(spam // 2))
        rnd.shuffle(half)
    return halves[0], halves[1]
