"""Generated story definitions for ``bench/stories.py``: what a monitoring desk's other stories look like.

Each generated story draws its key terms from three or four news topics (30-60 terms per language), its
entities from places and institutions that news in this world also names (so many articles hold some
of them, and the matcher must do real work), and its negative terms from the remaining topics. The
topics below are written for the benchmark; none is keyed to the replay world's articles.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime

from pipeline.config import StoryConfig, StoryTerms, StoryWindow

TOPICS: dict[str, dict[str, list[str]]] = {
    "elections": {
        "en": ["election", "ballot", "polling station", "voter turnout", "runoff", "campaign", "candidate",
               "electoral commission", "exit poll", "recount", "primary", "swing state", "early voting",
               "mail-in ballots", "debate", "incumbent"],
        "es": ["elección", "boleta", "casilla", "participación electoral", "segunda vuelta", "campaña",
               "candidata", "instituto electoral", "conteo rápido", "recuento", "encuesta de salida",
               "voto anticipado", "debate", "oficialismo", "oposición", "urnas"],
    },
    "migration": {
        "en": ["asylum seekers", "border crossings", "deportation", "migrant caravan", "immigration court",
               "humanitarian parole", "detention center", "remittances", "visa", "refugee status",
               "family separation", "border wall", "Title 42", "work permits", "undocumented"],
        "es": ["solicitantes de asilo", "cruces fronterizos", "deportación", "caravana migrante",
               "tribunal de inmigración", "permiso humanitario", "centro de detención", "remesas", "visa",
               "estatus de refugiado", "separación familiar", "muro fronterizo", "permisos de trabajo",
               "indocumentados", "migrantes"],
    },
    "energy": {
        "en": ["oil output", "refinery", "natural gas", "pipeline", "electricity grid", "blackout",
               "renewable energy", "solar farm", "wind power", "fuel prices", "state oil company",
               "energy reform", "crude exports", "power plant", "lithium"],
        "es": ["producción petrolera", "refinería", "gas natural", "gasoducto", "red eléctrica", "apagón",
               "energías renovables", "parque solar", "energía eólica", "precio de la gasolina",
               "petrolera estatal", "reforma energética", "exportaciones de crudo", "central eléctrica", "litio"],
    },
    "climate": {
        "en": ["drought", "heat wave", "wildfire", "hurricane season", "flooding", "emissions target",
               "climate summit", "carbon tax", "glacier", "deforestation", "water shortage", "sea level",
               "storm surge", "evacuation order", "reservoir levels"],
        "es": ["sequía", "ola de calor", "incendio forestal", "temporada de huracanes", "inundaciones",
               "meta de emisiones", "cumbre climática", "impuesto al carbono", "glaciar", "deforestación",
               "escasez de agua", "nivel del mar", "marejada", "orden de evacuación", "presas"],
    },
    "health": {
        "en": ["vaccine", "outbreak", "hospital beds", "public health emergency", "measles", "dengue",
               "drug shortage", "health ministry", "clinical trial", "pandemic preparedness", "infection rate",
               "intensive care", "health insurance", "medicine prices", "epidemiologists"],
        "es": ["vacuna", "brote", "camas de hospital", "emergencia sanitaria", "sarampión", "dengue",
               "desabasto de medicamentos", "secretaría de salud", "ensayo clínico", "preparación pandémica",
               "tasa de contagios", "terapia intensiva", "seguro médico", "precio de medicinas", "epidemiólogos"],
    },
    "economy": {
        "en": ["inflation", "interest rates", "central bank", "recession", "GDP growth", "unemployment",
               "peso", "stock market", "bond yields", "credit rating", "public debt", "budget deficit",
               "minimum wage", "foreign investment", "nearshoring"],
        "es": ["inflación", "tasas de interés", "banco central", "recesión", "crecimiento del PIB", "desempleo",
               "peso", "bolsa de valores", "rendimiento de los bonos", "calificación crediticia", "deuda pública",
               "déficit presupuestario", "salario mínimo", "inversión extranjera", "relocalización"],
    },
    "judiciary": {
        "en": ["supreme court", "judicial reform", "judges", "ruling", "constitutional challenge",
               "attorney general", "indictment", "extradition", "plea deal", "trial", "appeals court",
               "sentencing", "due process", "injunction", "prosecutors"],
        "es": ["suprema corte", "reforma judicial", "jueces", "sentencia", "controversia constitucional",
               "fiscal general", "acusación formal", "extradición", "acuerdo de culpabilidad", "juicio",
               "tribunal de apelación", "condena", "debido proceso", "suspensión", "fiscales"],
    },
    "technology": {
        "en": ["semiconductors", "data center", "artificial intelligence", "cyberattack", "ransomware",
               "data breach", "export controls", "chip plant", "5G network", "social media platform",
               "content moderation", "privacy law", "startups", "satellite launch", "telecom regulator"],
        "es": ["semiconductores", "centro de datos", "inteligencia artificial", "ciberataque", "secuestro de datos",
               "filtración de datos", "controles de exportación", "planta de chips", "red 5G", "redes sociales",
               "moderación de contenidos", "ley de privacidad", "empresas emergentes", "lanzamiento de satélite",
               "regulador de telecomunicaciones"],
    },
    "protests": {
        "en": ["protesters", "demonstration", "march", "tear gas", "riot police", "strike", "union leaders",
               "blockade", "sit-in", "curfew", "arrests", "rally", "human rights groups", "crackdown", "vigil"],
        "es": ["manifestantes", "manifestación", "marcha", "gas lacrimógeno", "policía antimotines", "huelga",
               "líderes sindicales", "bloqueo", "plantón", "toque de queda", "detenciones", "mitin",
               "organizaciones de derechos humanos", "represión", "vigilia"],
    },
    "diplomacy": {
        "en": ["summit", "foreign minister", "state visit", "embassy", "ambassador", "sanctions",
               "bilateral talks", "joint statement", "treaty", "consulate", "envoy", "diplomatic note",
               "memorandum of understanding", "G20", "United Nations"],
        "es": ["cumbre", "canciller", "visita de Estado", "embajada", "embajador", "sanciones",
               "conversaciones bilaterales", "declaración conjunta", "tratado", "consulado", "enviado",
               "nota diplomática", "memorando de entendimiento", "G20", "Naciones Unidas"],
    },
    "transport": {
        "en": ["airport", "airline", "flight cancellations", "railway", "train line", "highway", "toll road",
               "port congestion", "freight", "truckers", "metro line", "aviation authority", "air traffic",
               "cargo terminal", "bridge collapse"],
        "es": ["aeropuerto", "aerolínea", "cancelaciones de vuelos", "ferrocarril", "tren", "carretera",
               "autopista de cuota", "congestión portuaria", "carga", "transportistas", "línea del metro",
               "autoridad aeronáutica", "tráfico aéreo", "terminal de carga", "colapso de puente"],
    },
    "education": {
        "en": ["schools", "teachers union", "university", "tuition", "exam results", "textbooks",
               "school year", "literacy", "scholarships", "student loans", "campus", "curriculum",
               "school shooting", "enrollment", "education ministry"],
        "es": ["escuelas", "sindicato magisterial", "universidad", "colegiaturas", "resultados de exámenes",
               "libros de texto", "ciclo escolar", "alfabetización", "becas", "créditos estudiantiles",
               "campus", "plan de estudios", "matrícula", "secretaría de educación", "docentes"],
    },
}  # fmt: skip

# Places and institutions a desk's stories name again and again: the world's articles hold many of them.
ENTITIES = {
    "en": ["Mexico", "United States", "Washington", "Mexico City", "Texas", "California", "Canada", "Congress",
           "White House", "Senate", "Brazil", "Colombia", "Guatemala", "Venezuela", "Cuba", "Arizona",
           "Pentagon", "State Department", "Monterrey", "Guadalajara"],
    "es": ["México", "Estados Unidos", "Washington", "Ciudad de México", "Texas", "California", "Canadá",
           "Congreso", "Casa Blanca", "Senado", "Brasil", "Colombia", "Guatemala", "Venezuela", "Cuba",
           "Arizona", "Pentágono", "Departamento de Estado", "Monterrey", "Guadalajara"],
}  # fmt: skip


def generated_story(number: int) -> StoryConfig:
    """A deterministic story with 30-60 key terms per language drawn from three or four topics."""
    rng = random.Random(f"framewatch-bench-story:{number}")
    names = sorted(TOPICS)
    chosen = rng.sample(names, rng.choice((3, 4)))
    others = [name for name in names if name not in chosen]

    def terms(topics: list[str], language: str, low: int, high: int) -> tuple[str, ...]:
        pool = [term for topic in topics for term in TOPICS[topic][language]]
        return tuple(rng.sample(pool, min(len(pool), rng.randint(low, high))))

    key_terms = StoryTerms(en=terms(chosen, "en", 30, 60), es=terms(chosen, "es", 30, 60))
    entities = StoryTerms(en=tuple(rng.sample(ENTITIES["en"], 6)), es=tuple(rng.sample(ENTITIES["es"], 6)))
    negatives = StoryTerms(en=terms(others[:2], "en", 8, 15), es=terms(others[:2], "es", 8, 15))
    summary = {
        language: f"Coverage of {', '.join(chosen)}: "
        + ", ".join(key_terms.en[:12] if language == "en" else key_terms.es[:12])
        for language in ("en", "es")
    }
    return StoryConfig(
        slug=f"bench-story-{number:03d}",
        title=f"Benchmark story {number}: {' and '.join(chosen)}",
        summary=summary,
        window=StoryWindow(start=datetime(2025, 9, 1, tzinfo=UTC), end=datetime(2026, 3, 31, tzinfo=UTC)),
        key_terms=key_terms,
        entities=entities,
        negative_terms=negatives,
        query_discovery=False,
    )
