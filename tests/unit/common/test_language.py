"""Language identification on short and long bodies, texts written for these tests."""

from __future__ import annotations

import pytest

from services.common.language import detect

SHORT = {
    "en": "The council approved the new budget for schools on Tuesday evening.",
    "fr": "Le conseil municipal a approuvé mardi soir le nouveau budget des écoles.",
    "de": "Der Stadtrat hat am Dienstagabend den neuen Haushalt für die Schulen beschlossen.",
    "es": "El ayuntamiento aprobó el martes por la noche el nuevo presupuesto para las escuelas.",
    "it": "Il consiglio comunale ha approvato martedì sera il nuovo bilancio per le scuole.",
    "pt": "A câmara municipal aprovou na terça-feira à noite o novo orçamento para as escolas.",
    "nl": "De gemeenteraad heeft dinsdagavond de nieuwe begroting voor de scholen goedgekeurd.",
    "ru": "Городской совет во вторник вечером утвердил новый бюджет для школ.",
}

LONG = {
    "en": (
        "Heavy rain flooded several streets in the old town overnight, and the fire brigade "
        "pumped water out of dozens of cellars until the early morning. The mayor said the "
        "drainage system, built more than a century ago, could no longer cope with storms "
        "of this strength, and promised that the repairs planned for next year would be "
        "brought forward. Shop owners along the river counted their losses and asked the "
        "city for quick help, while the weather service warned of more rain at the weekend."
    ),
    "fr": (
        "De fortes pluies ont inondé plusieurs rues de la vieille ville pendant la nuit, et "
        "les pompiers ont pompé l'eau de dizaines de caves jusqu'au petit matin. Le maire a "
        "déclaré que le réseau d'évacuation, construit il y a plus d'un siècle, ne pouvait "
        "plus faire face à des orages de cette violence, et a promis d'avancer les travaux "
        "prévus pour l'année prochaine. Les commerçants des bords de la rivière ont compté "
        "leurs pertes et demandé une aide rapide à la ville."
    ),
    "de": (
        "Starker Regen hat in der Nacht mehrere Straßen der Altstadt überflutet, und die "
        "Feuerwehr pumpte bis in den frühen Morgen Wasser aus Dutzenden Kellern. Der "
        "Bürgermeister sagte, die vor mehr als hundert Jahren gebaute Kanalisation sei "
        "Unwettern dieser Stärke nicht mehr gewachsen, und versprach, die für das nächste "
        "Jahr geplanten Reparaturen vorzuziehen. Die Ladenbesitzer am Fluss zählten ihre "
        "Verluste und baten die Stadt um schnelle Hilfe."
    ),
    "es": (
        "Las fuertes lluvias inundaron durante la noche varias calles del casco antiguo, y "
        "los bomberos sacaron agua de decenas de sótanos hasta la madrugada. El alcalde dijo "
        "que el sistema de alcantarillado, construido hace más de un siglo, ya no podía con "
        "tormentas de esta fuerza, y prometió adelantar las obras previstas para el año que "
        "viene. Los comerciantes de la orilla del río contaron sus pérdidas y pidieron a la "
        "ciudad una ayuda rápida."
    ),
    "it": (
        "Le forti piogge hanno allagato durante la notte diverse strade del centro storico, "
        "e i vigili del fuoco hanno pompato acqua da decine di cantine fino al mattino. Il "
        "sindaco ha detto che la rete fognaria, costruita più di un secolo fa, non riesce più "
        "a reggere temporali di questa forza, e ha promesso di anticipare i lavori previsti "
        "per il prossimo anno. I negozianti lungo il fiume hanno contato i danni e chiesto "
        "alla città un aiuto rapido."
    ),
    "pt": (
        "As fortes chuvas inundaram durante a noite várias ruas do centro histórico, e os "
        "bombeiros retiraram água de dezenas de caves até de manhã cedo. O presidente da "
        "câmara disse que o sistema de esgotos, construído há mais de um século, já não "
        "aguenta tempestades desta força, e prometeu antecipar as obras previstas para o "
        "próximo ano. Os comerciantes junto ao rio contaram os prejuízos e pediram à cidade "
        "uma ajuda rápida."
    ),
    "nl": (
        "Zware regen heeft vannacht verschillende straten in de oude binnenstad onder water "
        "gezet, en de brandweer pompte tot in de vroege ochtend water uit tientallen kelders. "
        "De burgemeester zei dat het riool, dat meer dan honderd jaar geleden is aangelegd, "
        "stortbuien van deze kracht niet meer aankan, en beloofde de herstelwerkzaamheden "
        "van volgend jaar te vervroegen. Winkeliers langs de rivier telden hun verliezen."
    ),
    "ru": (
        "Сильный дождь ночью затопил несколько улиц старого города, и пожарные до раннего "
        "утра откачивали воду из десятков подвалов. Мэр заявил, что канализация, построенная "
        "более века назад, больше не справляется с ливнями такой силы, и пообещал перенести "
        "ремонт, запланированный на следующий год, на более ранний срок. Владельцы магазинов "
        "у реки подсчитали убытки и попросили город о быстрой помощи."
    ),
}


@pytest.mark.parametrize("lang", sorted(SHORT))
def test_short_texts(lang: str) -> None:
    found, confidence = detect(SHORT[lang])
    assert found == lang
    assert confidence is not None and 0.0 < confidence <= 1.0


@pytest.mark.parametrize("lang", sorted(LONG))
def test_long_texts_with_high_confidence(lang: str) -> None:
    found, confidence = detect(LONG[lang])
    assert found == lang
    assert confidence is not None and confidence > 0.99


def test_too_short_to_tell() -> None:
    assert detect("Breaking") == (None, None)


def test_language_of_the_body() -> None:
    assert (
        detect("Les négociations se poursuivent au Caire entre les médiateurs égyptiens.")[0]
        == "fr"
    )
    assert detect("short") == (None, None)
