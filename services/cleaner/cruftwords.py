"""The wording of boilerplate beyond English, as regex fragments for `cruft.py`'s rules.

Each fragment is an alternation of the UI strings that German, French and Spanish
sites print (Italian, Portuguese and Dutch where the strings are as plain), written
as sites write them: "Weiterlesen", "Lire la suite", "Leer más". They are matched
case-insensitively against a whole line, so an article sentence that merely contains
the words ("Die Kommentare des Ministers...", "Le site utilise des cookies pour...")
is not a match: the rules anchor on the parts only a UI string has, the imperative
("Abonnieren Sie", "Inscrivez-vous", "Suscríbete"), the deixis of a banner ("Diese
Website", "Ce site", "Este sitio", never the reporting "Die Website", "Le site",
"El sitio") or a line that is the label alone.
"""

from __future__ import annotations


def _any(*alternatives: str) -> str:
    return "|".join(alternatives)


def _words(alternatives: str) -> tuple[str, ...]:
    return tuple(alternatives.split("|"))


# Networks and channels that a share or follow prompt names.
NETWORKS = (
    r"twitter|facebook|instagram|linkedin|youtube|tiktok|threads|bluesky|mastodon|x|xing|"
    r"whatsapp|pinterest|reddit|telegram|messenger|flipboard|sms|e-?mail|mail|courriel|"
    r"correo( electrónico)?|google news"
)

# Labels of links to other stories. Each may stand alone as a line ("Weiterlesen »",
# "Mehr zum Thema") or introduce a headline after a colon ("Lesen Sie auch: ...").
READ_MORE = _any(
    # German
    r"(hier )?weiterlesen|mehr lesen|artikel lesen|lies (auch|mehr)|auch lesen",
    r"lesen sie (auch|mehr|hier|weiter)|siehe auch|zum weiterlesen",
    r"mehr (zum thema|dazu|erfahren|infos?|informationen)|(videos|bilder|mehr) zum thema",
    r"weiterführende (links?|artikel|informationen|beiträge)|weiterführender link",
    r"passend (zum thema|dazu)|(auch|ebenfalls) interessant|lesetipps?|unsere empfehlungen?",
    r"(verwandte|ähnliche|weitere|empfohlene|beliebte|neueste|aktuelle) (artikel|beiträge|"
    r"themen|nachrichten|meldungen|news|posts|videos)( (zum thema|aus (der|dem) [\w-]+))?",
    r"(das|dies|das thema|diese (artikel|beiträge|themen)) (könnte|könnten) (sie|dich|euch) "
    r"(auch|ebenfalls) interessieren",
    # French
    r"(pour )?lire (aussi|également|la suite|plus|l['’]article)( de (l['’]|cet )article)?",
    r"(à|a) (lire|voir|découvrir) (aussi|également|ensuite)|lisez (aussi|également)",
    r"voir (aussi|plus|tous les articles)|sur le même (sujet|thème)|dans la même rubrique",
    r"(articles?|contenus?) (liés|similaires|connexes|recommandés)|en savoir plus",
    r"(ces|d['’]autres) articles (peuvent|pourraient) (aussi |également )?vous intéresser",
    r"(cela|ça) (peut|pourrait) (aussi |également )?vous intéresser|pour aller plus loin",
    r"vous (aimerez|pourriez aimer|aimerez aussi|pourriez aussi aimer)( aussi| également)?",
    # Spanish
    r"(leer|lea|lee|leé) (más|también|además)|(seguir|sigue|continúa|continuar) leyendo",
    r"(también )?(te|le|les) (puede|podría|pueden|podrían) interesar|puede interesarte",
    r"te recomendamos|(noticias|artículos|notas|contenidos?) relacionad[oa]s",
    r"contenido relacionado|relacionad[oa]s|ver (también|más)|mira también|más información",
    r"(otras|más) noticias",
    # Italian, Portuguese, Dutch
    r"leggi (anche|tutto|di più|l['’]articolo)|(ti )?potrebbe (interessarti|interessare)",
    r"(articoli|notizie) correlat[ie]|vedi anche|continua a leggere|per approfondire",
    r"leia (também|mais)|veja também|saiba mais|continu(e|ar) lendo|leia a seguir",
    r"(notícias|matérias|artigos) relacionad[oa]s|(você )?(pode|poderá) gostar",
    r"lees (ook|meer|verder)|(verder|meer) lezen|zie ook|gerelateerde (artikelen|berichten)",
    r"meer over dit onderwerp",
)
# "Auch auf example.de", "Aussi sur lemonde.fr", "También en example.es".
ALSO_ON = r"(auch|aussi|également|también|anche|também|ook) (auf|sur|en|su|em|op)"

# Headings of link lists to other stories (for the element-level promo-list rule).
PROMO_HEADING = _any(
    READ_MORE,
    r"meist ?(gelesen|diskutiert|kommentiert|geteilt)e?( artikel| beiträge)?",
    r"(les )?plus (lus|partagés|commentés)|lo más (leído|visto|compartido)",
    r"(i )?più (letti|visti)|mais (lidas|lidos)|meest gelezen",
)

# "Teilen", "Artikel teilen", "Auf Facebook teilen", "Partager sur Facebook",
# "Compartir en WhatsApp", and what WordPress (Jetpack) prints under posts in these
# languages ("Gefällt mir:", "J'aime chargement…", "Me gusta Cargando...").
SHARE = _any(
    # German
    r"((diesen |den |die |diese )?(artikel|beitrag|seite|link|video|story|inhalt|post)|jetzt|"
    r"hier) (teilen|versenden|verschicken|weiterempfehlen|empfehlen|drucken|merken)( mit)?",
    r"(teilen|drucken|merken|versenden|teile dies|teilen mit)",
    rf"(auf|bei|via|per|über|mit) ({NETWORKS}) (teilen|versenden|verschicken|empfehlen)",
    rf"(teilen|versenden|empfehlen) (auf|bei|via|per|über) ({NETWORKS})\b.{{0,20}}",
    r"teile (diesen|den) (artikel|beitrag)( mit (deinen|deine) freunden)?",
    r"link (in die zwischenablage )?kopieren|gefällt mir|gefällt mir lade(n)?(\.\.\.|…)?",
    # French
    r"partager( (cet|cette|l['’]) ?(article|page|publication|vidéo|info))?",
    rf"(partager|partagez)( (cet|cette|l['’]) ?(article|page|publication|vidéo|info))? "
    rf"(sur|via|par) ({NETWORKS})\b.{{0,20}}",
    r"partagez (cet article|cette page)|(envoyer|partager) (par|à) (un |une )?"
    r"(e-?mail|mail|courriel|ami|amie)|copier le lien|imprimer( (l['’]|cet) ?article)?",
    r"j['’]aime ceci|j['’]aime chargement(\.\.\.|…)?|chargement(\.\.\.|…)",
    # Spanish
    r"(compartir|comparte|compártelo)( (esta noticia|este artículo|la noticia|el artículo|"
    r"esta nota|este contenido|esto))?",
    rf"(compartir|comparte)( (esta noticia|este artículo|la noticia|el artículo|esta nota|"
    rf"este contenido|esto))? (en|por|vía|via) ({NETWORKS})\b.{{0,20}}",
    r"enviar (por|a) (correo( electrónico)?|e-?mail|whatsapp|un amigo)|copiar (el )?enlace",
    r"imprimir( (esta )?(noticia|artículo))?|me gusta|me gusta cargando(\.\.\.|…)?|"
    r"cargando(\.\.\.|…)",
    # Italian, Portuguese, Dutch
    rf"condividi( (l['’]|questo) ?articolo)?( (su|via) ({NETWORKS})\b.{{0,20}})?|copia (il )?link",
    rf"(compartilhe|compartilhar|partilhar|partilhe)( (esta notícia|este artigo|esta matéria))?"
    rf"( (no|na|via|pelo|por) ({NETWORKS})\b.{{0,20}})?|copiar (o )?link",
    rf"(delen|deel dit( artikel| bericht)?)( (op|via) ({NETWORKS})\b.{{0,20}})?|link kopiëren",
)

# Words of cookie banners (and of no article about biscuits), per language.
COOKIE_BANNER = _any(
    r"website|webseite|internetseite|seite|erfahrung|nutzererlebnis|funktion\w*|analys\w*",
    r"statistik\w*|werb\w*|personalisier\w*|zustimmung|einwilligung|datenschutz\w*|angebot\w*",
    r"dienste|nutzung|surf\w*|browser",
    r"site|expérience|navigation|naviguer|navigateur|audience|statistiques?|publicit\w*",
    r"personnalis\w*|consentement|confidentialité|services|contenus",
    r"experiencia|navegación|naveg\w*|analític\w*|estadístic\w*|publicidad|publicitari\w*",
    r"personaliz\w*|consentimiento|privacidad|servicios|sitio|web|terceros",
    r"esperienza|navigazione|servizi|sito|consenso|pubblicit\w*|personalizz\w*",
    r"experiência|navegação|serviços|consentimento|publicidade",
    r"ervaring|analyse|advertent\w*|personali\w*|toestemming|privacy|diensten|bezoek",
)
_SITE_DE = r"(diese|unsere) (website|webseite|seite|internetseite|homepage|web-seite|app|plattform)"
_SITE_FR = r"(ce|notre) (site( web| internet)?|application|service)"
_SITE_ES = (
    r"(este|nuestro) (sitio( web)?|portal|web|website|sitio de internet)|"
    r"esta (página|web)( web)?"
)
_SITE_OTHER = (
    r"questo sito( web)?|(este|nosso) (site|portal|website)|"
    r"(deze|onze) (website|site|webwinkel)"
)
# "Diese Website verwendet Cookies", "Ce site utilise des cookies", "Este sitio web
# utiliza cookies propias y de terceros": the banner speaks of *this* site.
COOKIE_SITE_USES = (
    rf"({_SITE_DE}) (verwendet|nutzt|benutzt|setzt|speichert)|({_SITE_FR}) (utilise|dépose|"
    rf"emploie)|({_SITE_ES}) (utiliza|usa|emplea|instala)|({_SITE_OTHER}) (utilizza|usa|"
    r"utiliza|gebruikt|maakt gebruik van)"
)
# "Wir verwenden Cookies, um ...", "Nous utilisons des cookies pour ...": only with a
# banner word in the same sentence.
COOKIE_WE_USE = (
    r"wir (verwenden|nutzen|benutzen|setzen|speichern)( auf (dieser|unserer) (website|webseite|"
    r"seite))?|nous (utilisons|déposons|employons)|(utilizamos|usamos|empleamos)|"
    r"(utilizziamo|usiamo)|(wij|we) (gebruiken|maken gebruik van)"
)
# Whole-line banner buttons and statements.
COOKIE_LINES = _any(
    r"(durch|mit|bei) (der |die )?(weitere[n]? )?(nutzung|verwendung|benutzung|besuch) (dieser|"
    r"der|unserer) (website|webseite|seite|internetseite).{0,150}\bcookies\b.{0,200}",
    r"en (continuant|poursuivant) (votre |la )?navigation.{0,150}\bcookies?\b.{0,200}",
    r"si (continúa|continúas|continua|continuas|sigue|sigues) navegando.{0,150}"
    r"\b(cookies|uso)\b.{0,200}",
    r"(alle |nur notwendige |notwendige )?cookies (akzeptieren|zulassen|ablehnen|erlauben|"
    r"annehmen)|cookie-?(einstellungen|richtlinie|hinweis|präferenzen|erklärung)",
    r"(accepter|refuser|gérer|paramétrer|personnaliser)( tous| toutes)?( les)? cookies|"
    r"(paramètres|gestion|politique) (des|de|relative aux) cookies",
    r"(aceptar|rechazar|configurar|gestionar|administrar)( todas)?( las)? cookies|"
    r"(política|configuración|ajustes) de cookies",
    r"(accetta|rifiuta)( tutti)?( i)? cookie|(aceitar|rejeitar)( todos)?( os)? cookies|"
    r"(alle )?cookies (accepteren|weigeren|toestaan)",
)

# The noun of a newsletter prompt (German compounds: "Morgen-Newsletter").
NEWSLETTER = r"newsletter|boletín|boletin|lettre d['’]information|infolettre|nieuwsbrief"
# Sentence openers that only a call to action has: the imperative.
NEWSLETTER_CTA = _any(
    r"(abonnieren|bestellen) sie|(melden|registrieren|tragen) sie sich|abonniere|bestelle",
    r"melde dich|registriere dich|trag dich|jetzt (anmelden|abonnieren|registrieren)",
    r"inscrivez-vous|abonnez-vous|inscris-toi|abonne-toi|je m['’](abonne|inscris)",
    r"ne manquez (rien|aucun\w*)|restez informés?",
    r"suscríbete|suscribete|suscríbase|suscribase|regístrate|registrate|apúntate|apuntate",
    r"inscríbete|inscribete|no te pierdas|mantente informado",
    r"iscriviti|registrati|abbonati|inscreva-se|cadastre-se|assine",
    r"schrijf je in|meld je aan|abonneer je",
)
# Verbs that are a call to action only before *our* newsletter ("Recibe nuestro
# boletín", not "Recibe el boletín del banco central desde 2019").
NEWSLETTER_OURS = (
    r"(erhalten sie|holen sie sich|hol dir|recevez|recibe|reciba|únete|unete|ricevi|receba|"
    r"ontvang)\b(?=.{0,60}\b(unseren|unserem|unsere|unser|notre|nos|nuestro|nuestra|nuestros|"
    r"nostra|nostro|nossa|nosso|onze)\b)"
)
# "Jetzt Newsletter abonnieren", "Newsletter-Anmeldung", "Inscription à la newsletter".
NEWSLETTER_LINES = _any(
    r"(jetzt |hier )?(kostenlos(en)? |gratis )?(zum |für den |den |unseren )?[\w-]*newsletter"
    r" (abonnieren|bestellen|anmelden|registrieren)\b.{0,100}",
    r"[\w-]*newsletter-?anmeldung|(s['’]inscrire|s['’]abonner|inscription|abonnement) à "
    r"(la|notre) (newsletter|lettre d['’]information|infolettre)",
    r"(suscribirse|suscribirte|suscripción|suscribirme) (a|al) (nuestro|el|la|nuestra) "
    r"(boletín|boletin|newsletter)",
)

# Words one of which each rule's line has, in lower case (see cruft.GATES).
NEWSLETTER_GATE = _words("newsletter|boletín|boletin|lettre d|infolettre|nieuwsbrief")
FOLLOW_GATE = _words(
    "folgen sie uns|folge uns|folgt uns|suivez|retrouvez|guenos|ganos|guinos|seguici|siga-nos|"
    "segue-nos|volg ons"
)
COMMENT_GATE = _words(
    "comment|komment|coment|réag|reag|reacti|reply|diskut|löschen|supprimer|eliminar|excluir"
)
LEGAL_GATE = _words(
    "reserv|réserv|vorbehalten|riservat|voorbehouden|vervielfältigung|nachdruck|weiterverwendung|"
    "weitergabe|reproduc|riproduz|impressum|datenschutz|agb|kontakt|nutzungsbeding|"
    "barrierefrei|mediadaten|cookie|mentions|confidentialité|données|cgu|cgv|conditions|"
    "contact|plan du site|aviso|privacidad|términos|condiciones|mapa del sitio|note legali|"
    "termini|contatti|privacidade|termos|colofon|privacy|voorwaarden|terms|imprint|"
    "legal notice|sitemap"
)

# "Folgen Sie uns auf Facebook", "Suivez-nous sur Twitter", "Síguenos en Instagram".
FOLLOW_US = (
    r"(folgen sie uns|folge uns|folgt uns|suivez-nous|retrouvez-nous|síguenos|siguenos|síganos|"
    r"seguinos|seguici|siga-nos|segue-nos|volg ons)( auch| también| aussi| ook| anche)?"
    r" (auf|bei|in|unter|sur|via|en|a través de|su|no|nas|nos|op)"
)

# A comment section's labels and prompts. English is here too: it had none.
COMMENT_PROMPT = _any(
    r"(leave|post|add|write) a (comment|reply)|no comments( yet)?|comments?( \(\d+\))?",
    r"((you must be|please) )?log(ged)? ?in( here)? to (post|leave|write|add) a (comment|reply)"
    r"[.!]?|reply ?delete|(view|show) (all )?comments",
    # German
    r"kommentare?( \(\d+\)| insgesamt:? \d+)?|\d+ kommentare?",
    r"(noch )?keine kommentare( vorhanden)?( \(.{0,80}\))?|neueste kommentare",
    r"(einen |deinen |ihren )?kommentar (schreiben|verfassen|hinzufügen|abgeben|hinterlassen)",
    r"(jetzt )?kommentieren|(schreiben sie|hinterlassen sie|hinterlasse|schreibe|schreib) "
    r"(uns )?(einen|deinen|ihren) kommentar[.!]?",
    r"kommentare (anzeigen|lesen|ausblenden|einblenden)|zu den kommentaren|antworten ?löschen",
    r"(jetzt )?mitdiskutieren|diskutieren sie mit[.!]?|diskutiere mit[.!]?",
    r".{0,80}\b(angemeldet|eingeloggt|registriert) sein,? um .{0,60}\b(kommentare?|"
    r"kommentieren)\b.{0,60}",
    r"um .{0,80}\bkommentieren zu können,? (müssen sie|musst du) (angemeldet|eingeloggt|"
    r"registriert) sein[.!]?",
    # French
    r"commentaires?( \(\d+\))?|\d+ commentaires?|(aucun|pas de|0) commentaires?"
    r"( pour (le moment|l['’]instant))?",
    r"(laisser|laissez|ajouter|écrire|rédiger|poster|publier) (un|votre) commentaire",
    r"(réagir|réagissez)( à cet article)?|voir (les|tous les) commentaires|répondre ?supprimer",
    r"(vous devez|veuillez) (être )?(connecté|inscrit|vous connecter|vous identifier)"
    r".{0,80}\bcommentaires?\b.{0,40}",
    # Spanish
    r"comentarios?( \(\d+\))?|\d+ comentarios?|(sin|no hay) comentarios( todavía| aún)?",
    r"(deja|dejá|deje|dejar|escribe|escribí|escriba|añade|agrega|publica) (un|tu|su) "
    r"comentario|comenta( esta noticia)?|ver (los )?comentarios|responder ?eliminar",
    r"(debes|debe|tienes que|tiene que|necesitas) (estar registrado|iniciar sesión|"
    r"iniciar sesion|registrarte|identificarte|estar identificado).{0,80}\bcoment\w*\b.{0,40}",
    # Italian, Portuguese, Dutch
    r"commenti( \(\d+\))?|\d+ commenti|(lascia|scrivi|aggiungi) un commento|nessun commento",
    r"comentários( \(\d+\))?|\d+ comentários|(deixe|escreva|adicione) (um|seu) comentário",
    r"nenhum comentário|responder ?excluir",
    r"reacties( \(\d+\))?|\d+ reacties?|(laat een|plaats een|geef een) reactie( achter)?",
    r"geen reacties( gevonden)?",
)
# Words a comment prompt has (one scan rejects the prose lines before the rule runs).
COMMENT_WORDS = r"comment|komment|coment|réag|reag|reacti|reply|diskut|löschen|supprimer"

# "Alle Rechte vorbehalten", "Tous droits réservés", with their copyright holder.
RIGHTS_RESERVED = _any(
    r"all rights reserved|alle rechte vorbehalten|tous droits réservés",
    r"todos los derechos reservados|tutti i diritti riservati|todos os direitos reservados",
    r"alle rechten voorbehouden|riproduzione riservata",
)
# A second legal sentence that follows it on the same line.
LEGAL_TAIL = (
    r"(vervielfältigung|nachdruck|weiterverwendung|reproduction|toute reproduction|"
    r"reproducción|prohibida|queda prohibida|riproduzione|reprodução)\b.{0,120}"
)
LEGAL_STATEMENT = _any(
    r"(vervielfältigung|nachdruck|weiterverwendung|weitergabe)( \w+){0,3} nur mit "
    r"(vorheriger |ausdrücklicher )?(schriftlicher )?(genehmigung|zustimmung|erlaubnis)"
    r"( [^,]{0,100})?",
    r"(toute )?reproduction (interdite|strictement interdite|réservée)( [^,]{0,100})?",
    r"(queda )?prohibida (su|la) reproducción( total o parcial)?( [^,]{0,100})?",
)
# Footer links; a line of two or more of them ("Impressum | Datenschutz | Kontakt"),
# or one of the unmistakable ones alone.
LEGAL_LINK = _any(
    r"impressum|datenschutz(erklärung|hinweise?|bestimmungen|einstellungen)?|agb|kontakt",
    r"nutzungsbedingungen|barrierefreiheit|mediadaten|cookie-?einstellungen",
    r"mentions légales|politique de confidentialité|données personnelles|cgu|cgv",
    r"conditions générales( d['’]utilisation| de vente)?|contact|plan du site",
    r"aviso legal|política de privacidad|política de cookies|términos y condiciones",
    r"condiciones de uso|contacto|mapa del sitio|note legali|termini e condizioni|contatti",
    r"política de privacidade|termos de uso|colofon|privacyverklaring|algemene voorwaarden",
    r"privacy( policy)?|cookie policy|terms( of (use|service))?|imprint|legal notice|sitemap",
)
LEGAL_LINK_ALONE = _any(
    r"impressum|datenschutzerklärung|mentions légales|aviso legal|note legali",
    r"politique de confidentialité|política de privacidad|privacyverklaring",
)

# "5 Min. Lesezeit", "Temps de lecture : 4 min", "3 minutos de lectura", "Meistgelesen".
POST_STATS = _any(
    r"\d+ (min\.?|minuten?) (lesezeit|lesedauer)|(lesezeit|lesedauer):? (ca\. )?\d+ (min\.?|"
    r"minuten?)|\d+ aufrufe|meist ?(gelesen|diskutiert|kommentiert|geteilt)e?",
    r"(temps de )?lecture ?:? \d+ min(utes?)?|\d+ min(utes?)? de lecture|(les )?plus lus",
    r"(tiempo de )?lectura:? \d+ min(utos)?|\d+ min(utos)? de lectura|lo más (leído|visto)",
    r"\d+ min(uti)? di lettura|\d+ min(utos)? de leitura|(mais lidas|i più letti)",
    r"leestijd:? \d+ min(uten)?|\d+ min(uten)? leestijd|meest gelezen",
)

# Ad labels and "continued after the ad" markers.
ADVERTISEMENT = _any(
    r"\*?(anzeige|werbung)|(lesen sie )?weiter nach der (anzeige|werbung)",
    r"(der )?(artikel|text) (wird|geht) (unter|nach) der (anzeige|werbung) (weiter|fortgesetzt)",
    r"publicité|pub|la suite (de l['’]article )?après (cette |la )?(publicité|pub)",
    r"(l['’]article|l['’]info) (continue|se poursuit) (après|sous) (cette |la )?(publicité|pub)",
    r"publicidad|anuncio|(contenido|artículo) patrocinado",
    r"(la noticia |el artículo )?(continúa|sigue) (después|tras|debajo) de (la )?publicidad",
    r"pubblicità|annuncio|contenuto sponsorizzato|publicidade",
    r"continua (após|depois d)a publicidade|advertentie|gesponsord",
    r"lees verder (na|onder) de advertentie",
)
# What the AAWP affiliate plugin prints under each product box, in its languages.
AFFILIATE = (
    r"(?=.*amazon product advertising api).{0,100}(bilder von der|images from( the)?|"
    r"imágenes de la|images de l['’]) amazon product advertising api\.?"
)

SCROLL_ANCHOR = (
    r"(zurück )?nach oben( scrollen)?|(zum )?seitenanfang|(retour|revenir) (en haut|au début)"
    r"( de (la )?page)?|haut de (la )?page|(volver|ir|subir) (arriba|al inicio)|"
    r"torna (su|in alto|all['’]inizio)|voltar ao topo|terug naar (boven|begin)"
)
# Labels of a photo credit line ("Foto: dpa", "Titelbild: Name/Agentur", "Crédit photo :
# AFP", "Foto de portada: EFE"), English ones included.
CREDIT_LABEL = _any(
    r"photos?|images?|pictures?|(photo|image|picture|cover|header) ?credits?|credits?",
    r"(cover|header|featured|lead) (photo|image)|photograph|illustration",
    r"fotos?|bild(er)?|titelbild|titelfoto|beitragsbild|aufmacher(bild|foto)|headerbild",
    r"vorschaubild|bildquellen?|bildnachweise?|fotonachweise?|bildrechte|fotocredits?",
    r"crédits? photos?|crédits?|illustrations?",
    r"imagen|imágenes|fotografía|foto de portada|créditos?|ilustración",
    r"immagin[ei]|crediti|credito fotografico|imagem|beeld|afbeelding",
)
# "You are not logged in", "Sie sind aktuell nicht eingeloggt", "Vous n'êtes pas connecté":
# a site's account status, never an article's sentence in this bare form.
LOGIN_STATUS = _any(
    r"(you are|you're) (currently )?not (logged|signed) in",
    r"(sie sind|du bist) (aktuell |derzeit |momentan |zurzeit |noch )?nicht "
    r"(eingeloggt|angemeldet)",
    r"vous n['’](ê|e)tes pas (encore )?connecté(e|\(e\)|s)?",
    r"no (has|ha) iniciado sesión|no estás (conectado|identificado)",
    r"non sei (connesso|collegato)|non hai effettuato l['’]accesso",
    r"você não está (logado|conectado)|(je|u) bent niet ingelogd",
)
LOGIN_GATE = _words(
    "logged|signed|eingeloggt|angemeldet|connect|sesión|identificado|connesso|collegato|"
    "accesso|logado|ingelogd"
)

# Appeals for money or membership that publishers put under articles: the imperative
# opens the line ("Support independent journalism", "Unterstütze RosaMag bereits mit
# 2,50!", "Hazte miembro y disfruta...", "Soutenez notre rédaction"), or a question
# about the article leads to it ("Ihnen hat der Artikel gefallen? ... spenden Sie...").
# What follows the imperative has no comma (but a decimal one, "2,50"): "Support us, the
# protesters chanted" and "Hazte miembro del partido, le dijo su padre" are reported speech.
_TAIL = r"((?:[^,]|(?<=\d),(?=\d)){0,80})"
SUPPORT_APPEAL = _any(
    # English
    rf"(please )?(support|donate to|help fund) (us|our (work|journalism|reporting|newsroom)|"
    rf"(independent|local|quality) journalism)\b{_TAIL}",
    rf"(become|be) a (member|supporter|patron|subscriber)( today| now)?( and{_TAIL})?",
    r"donate( now| today)?",
    # German
    r"(jetzt |bitte )?(unterstütze|unterstützt|unterstützen sie) (uns|unsere arbeit|"
    rf"unseren journalismus|[\w.-]+)( (jetzt|bereits|schon|ab|mit) {_TAIL})?",
    r"(so )?(können sie|könnt ihr|kannst du) uns unterstützen:?|jetzt (unterstützen|spenden)",
    rf"(bitte )?(spenden sie|spende) (jetzt|uns|für uns)\b{_TAIL}",
    # French
    rf"(soutenez|soutenir)(-nous| nous| notre (travail|journalisme|rédaction|média))\b{_TAIL}",
    rf"faites un don( à [\w.-]+)?( (dès|pour|et) {_TAIL})?|devenez (membre|abonné|abonnée|mécène)"
    rf"\b{_TAIL}",
    # Spanish
    r"(hazte|hágase|hacete) (miembro|socio|socia|suscriptor|suscriptora|mecenas)"
    rf"( de [\w.-]+)?( (y|para|hoy|ahora) {_TAIL})?",
    r"(apoya|apóyanos|apoyá|apoye) (nuestro periodismo|nuestra labor|el periodismo "
    rf"independiente)\b{_TAIL}|haz una donación\b{_TAIL}",
    # Italian, Portuguese, Dutch
    rf"sostienici\b{_TAIL}|(apoie|apoia) (o nosso|nosso) jornalismo\b{_TAIL}",
    rf"steun (ons|onze journalistiek)\b{_TAIL}|word (lid|donateur)( van [\w.-]+)?[.!]?",
    # A heart marks a support button: "❤ Example unterstützen", "♥ Support Example".
    r"(❤|♥|♡)\s*([\w.-]+ ){0,2}(unterstützen|support|soutenir|apoyar|sostenere|steunen)"
    r"|(❤|♥|♡)\s*(support|unterstütze|soutenez|apoya)( [\w.-]+){1,2}",
)
# "Liked this article? ...": only with an appeal word later in the line.
LIKED_IT = (
    r"((did you )?(like|enjoy|enjoyed|value) (this|our) (article|story|post|journalism|work)|"
    r"(ihnen|dir|euch) (hat|gefällt|gefiel) (der|dieser|unser|das) (artikel|beitrag|text|"
    r"inhalt|programm|journalismus|angebot)( gefallen)?|"
    r"(cet|notre) article vous a plu|(te|le) gust[óo] (este|esta) (artículo|nota))\?"
    r"(?=.*\b(support|donat|contribut|member|unterstütz|spende|helfen|abonn|soutien|souten|"
    r"don|apoy|dona|socio|suscri)).{0,250}"
)
SUPPORT_GATE = _words(
    "support|donat|member|patron|unterstütz|spende|souten|faites un don|membre|abonné|mécène|"
    "hazte|hágase|hacete|apoy|apoye|donación|sostien|apoi|steun|word lid|word donateur|"
    "gefallen|gefällt|gefiel|plu|gustó|enjoy|like|value"
)

SKIP_LINK = (
    r"(direkt )?zum (haupt)?inhalt( springen| wechseln)?|(direkt )?zur (haupt)?navigation"
    r"( springen)?|inhalt überspringen|(aller|passer) au contenu( principal)?|"
    r"aller (à la|au) (navigation|menu)|(saltar|ir|pasar) al contenido( principal)?|"
    r"vai al contenuto( principale)?|(pular|ir) para o conteúdo( principal)?|"
    r"(ga |spring )?naar (de )?(hoofd)?inhoud"
)
TAXONOMY = (
    r"schlagw(o|ö)rte?|stichw(o|ö)rte?|kategorien?|abgelegt unter|verschlagwortet mit|"
    r"veröffentlicht (in|unter)|étiquettes?|mots[- ]clés?|catégories?|classé dans|"
    r"etiquetas?|categorías?|archivado en|argomenti|categori[ae]|parole chiave|"
    r"palavras[- ]chave|trefwoorden|categorieën|categorie"
)

# Element identifiers (id and class, lower case) and aria-labels.
ID_CLASS_SHARE = r"(?<![a-z])teilen|partage|compartir|condivid|compartilh|partilh|(?<![a-z])delen\b"
ID_CLASS_RELATED = (
    r"verwandt|aehnliche|ähnliche|weitere-artikel|mehr-zum-thema|lesetipp|articles?-lies|"
    r"a-lire|lire-aussi|meme-sujet|relacionad|te-puede-interesar|correlat|gerelateerd"
)
ID_CLASS_NEWSLETTER = r"nieuwsbrief|boletin|infolettre"
ARIA_SHARE = r"\bteilen\b|partager|compartir|condividi|compartilhar|\bdelen\b"
ARIA_RELATED = r"verwandte|ähnliche artikel|articles liés|relacionad|correlati|gerelateerd"
