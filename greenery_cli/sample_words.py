"""Words the generator draws from: names, streets, plants, promo codes (all invented or common).

US states are weighted roughly like the real export (Texas and California most often); every
name is in seeds/us_states.csv so the addresses pass the staging relationship test.
"""

from __future__ import annotations

# fmt: off
FIRST_NAMES = (
    "Ada", "Alden", "Amara", "Anouk", "Arlo", "Beatrix", "Bram", "Calla", "Cedric", "Cleo",
    "Dahlia", "Desmond", "Edie", "Emrys", "Fern", "Florian", "Greer", "Gideon", "Hazel", "Hollis",
    "Ines", "Ivo", "Juniper", "Jasper", "Kit", "Laurel", "Leif", "Linnea", "Magnus", "Marisol",
    "Nell", "Niall", "Odile", "Orrin", "Petra", "Quill", "Rosalind", "Rowan", "Saffron", "Silas",
    "Tamsin", "Thaddeus", "Una", "Valerian", "Willa", "Wren", "Xavia", "Yara", "Zinnia", "Ezra",
)
LAST_NAMES = (
    "Ashdown", "Birchall", "Blackthorn", "Bramley", "Calloway", "Crane", "Dalrymple", "Eastwood",
    "Fairweather", "Fenwick", "Garland", "Greaves", "Hawthorne", "Heathcote", "Ingleby", "Juniper",
    "Kettering", "Lark", "Linwood", "Marlowe", "Merriweather", "Nettleton", "Oakes", "Orchard",
    "Pemberton", "Quince", "Redfern", "Rowntree", "Sedgwick", "Thistlewood", "Underhill", "Vale",
    "Whitlock", "Woodbury", "Yarrow", "Ashby", "Coppersmith", "Elderfield", "Foxglove", "Moss",
)
EMAIL_DOMAINS = (
    "example.com", "example.net", "example.org", "mail.example", "post.example", "inbox.example",
    "greenmail.example", "leafpost.example", "sproutmail.example", "fernbox.example",
)
STREET_NAMES = (
    "Acorn", "Alder", "Aspen", "Bluebell", "Briar", "Cedar", "Chestnut", "Clover", "Cypress",
    "Elm", "Foxtail", "Hawthorn", "Hemlock", "Juniper", "Larch", "Laurel", "Linden", "Magnolia",
    "Maple", "Meadow", "Mulberry", "Oak", "Orchard", "Pine", "Poplar", "Primrose", "Rowan",
    "Sage", "Spruce", "Sycamore", "Thistle", "Willow", "Yew", "Heather", "Ivy", "Lilac",
)
STREET_SUFFIXES = (
    "Point", "Alley", "Circle", "Street", "Lane", "Center", "Crossing", "Plaza", "Drive", "Road",
    "Junction", "Hill", "Trail", "Court", "Way", "Terrace", "Place", "Parkway", "Avenue", "Park",
)
# (state, weight): roughly the real export's spread
STATE_WEIGHTS = (
    ("Texas", 15), ("California", 11), ("Virginia", 6), ("Florida", 5), ("New York", 5),
    ("District of Columbia", 5), ("Alabama", 3), ("Indiana", 3), ("Arizona", 3), ("Ohio", 3),
    ("Georgia", 3), ("Pennsylvania", 3), ("Illinois", 3), ("North Carolina", 3),
    ("Colorado", 2), ("Minnesota", 2), ("Missouri", 2), ("Tennessee", 2), ("Washington", 2),
    ("Louisiana", 2), ("Michigan", 2), ("Maryland", 2), ("Massachusetts", 2), ("Nevada", 2),
    ("Oklahoma", 2), ("Kentucky", 2), ("South Carolina", 2), ("Connecticut", 1), ("Iowa", 1),
    ("Kansas", 1), ("Nebraska", 1), ("New Mexico", 1), ("Oregon", 1), ("Utah", 1),
    ("Wisconsin", 1), ("West Virginia", 1), ("Idaho", 1), ("Mississippi", 1), ("Arkansas", 1),
    ("New Jersey", 1), ("Delaware", 1), ("Hawaii", 1), ("Montana", 1), ("South Dakota", 1),
    ("North Dakota", 1), ("Alaska", 1), ("New Hampshire", 1), ("Maine", 1), ("Rhode Island", 1),
    ("Vermont", 1), ("Wyoming", 1),
)
PLANTS = (
    "Pothos", "Bamboo", "Philodendron", "Monstera", "String of pearls", "ZZ Plant", "Snake Plant",
    "Calathea Makoyana", "Fiddle Leaf Fig", "Peace Lily", "Aloe Vera", "Jade Plant",
    "Spider Plant", "Rubber Plant", "Boston Fern", "Birds Nest Fern", "Orchid", "Cactus",
    "Money Tree", "Dragon Tree", "Ponytail Palm", "Majesty Palm", "Bird of Paradise",
    "Pink Anthurium", "Alocasia Polly", "Angel Wings Begonia", "Pilea Peperomioides",
    "Arrow Head", "Devil's Ivy", "Ficus", "Hoya Carnosa", "Prayer Plant", "Croton",
    "Chinese Evergreen", "Parlor Palm", "Kentia Palm", "Echeveria", "Haworthia", "Maidenhair Fern",
    "English Ivy", "Swiss Cheese Vine", "Watermelon Peperomia", "Polka Dot Plant", "Air Plant",
)
VARIETIES = (
    "Variegata", "Mini", "Large", "Hanging", "Marble Queen", "Golden", "Compact", "Tall",
    "Trailing", "Dwarf", "Silver", "Red Edge",
)
PROMO_NAMES = (
    "spring-bloom", "Green Thumb", "welcome-home", "Leaf it to us", "repotting", "Evergreen",
    "fern-friday", "Photosynthesis", "root-bound", "Seedling", "botanical", "Overgrown",
)

# fmt: on


def weighted_states() -> list[str]:
    """The state names repeated by weight: a uniform pick from it is a weighted pick."""
    return [state for state, weight in STATE_WEIGHTS for _ in range(weight)]
