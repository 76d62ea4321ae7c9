"""Drafts written apart from the rule packs' own examples and the labelled corpus:
brand replies as they are posted, safe ones and risky ones, in both languages.
They guard against rules that only fit their own examples."""

from __future__ import annotations

import pytest

from bot.review.engine import review_offline
from bot.review.models import ReviewRequest

# (draft, customer's message): good replies that must be posted as they are.
SAFE = [

 ("Thanks for the shout-out! 🙌 We'll let the team know.", "Best coffee in town, thanks @brand!"),
 ("So sorry about that, Chris. Could you DM us your order number? We'll get a replacement out today.", "Wrong size delivered again"),
 ("Hi Emma, we hear you — waiting 40 minutes isn't OK. We've shared this with the store manager and would love to make it up to you: can you DM us?", "Waited 40 min for a table"),
 ("Our stores close at 8pm on weekdays and 6pm on Saturdays. Have a great evening!", "When do you close today?"),
 ("Great catch! The typo is fixed now. Thanks for keeping us sharp 😄", "There's a typo on your homepage lol"),
 ("We never remove honest reviews. Sorry your visit fell short — we'd love to hear more at support@brand.com.", "Terrible service, 1 star"),
 ("Congrats on finishing your first marathon! 🏃‍♀️ That's huge.", "Ran my first marathon in your shoes!"),
 ("Yes! The jacket is back in stock in all sizes from Monday.", "Will the green jacket be restocked?"),
 ("We're sorry you were charged twice. We've refunded the duplicate payment today; it takes 3–5 business days to show.", "Charged twice!!"),
 ("That's not the welcome we want for anyone, and we apologise. The manager of the Leeds store will call you tomorrow.", "Staff in Leeds were rude"),
 ("Everyone deserves to see themselves on screen. These stories are here to stay.", "Why so many gay characters?"),
 ("Our product is designed so that every athlete can train comfortably, whatever they wear.", "Selling a sports hijab is a disgrace"),
 ("Thanks for your patience during the outage yesterday. Everything is back to normal, and we're sorry for the disruption.", None),
 ("Bonjour Camille, merci pour votre message ! Votre commande est bien partie ce matin, vous recevrez le suivi par e-mail.", "Ma commande est partie ?"),
 ("Désolés pour ce retard, Karim 🙏 Le train 8412 a été retenu par un incident technique ; nous vous proposons un bon de compensation en MP.", "1h de retard sur le 8412"),
 ("Merci pour ce retour ! On transmet à l'équipe produit.", "Ce serait top d'avoir une version sans sucre"),
 ("Vous avez raison, ce n'était pas normal. Nous avons recadré l'équipe et vous remboursons le repas.", "Serveur désagréable ce midi"),
 ("Bonne nouvelle : la boutique de Nantes rouvre samedi à 10h ! 🎉", None),
 ("Nous ne supprimerons pas votre avis : il nous aide à progresser. Nous sommes désolés pour cette expérience.", "Nul, je ne reviendrai pas"),
 ("Toutes nos excuses pour le colis abîmé. Un nouvel envoi part aujourd'hui ; écrivez-nous en MP si besoin.", "Colis reçu écrasé"),
 ("Coucou Léa ! Oui, la taille 38 revient en stock la semaine prochaine 😊", "La 38 revient quand ?"),
 ("Merci à tous pour ce week-end incroyable à Lyon, vous avez été géniaux ❤️", None),
 ("Nous comprenons votre inquiétude. Ce produit respecte toutes les normes européennes ; la fiche détaillée est ici : https://exemple.fr/fiche", "Vos produits sont dangereux ?"),
 ("Bonjour, le magasin est ouvert de 9h à 19h du lundi au samedi. Bonne journée !", "Horaires du magasin svp"),
 ("Pas de souci, on s'en occupe ! Tu peux nous envoyer ton numéro de commande en MP ?", "J'ai besoin de changer mon adresse de livraison"),
    ("Bonjour ! Pour supprimer votre compte, allez dans Paramètres > Compte > Supprimer. N'hésitez pas si besoin 😊", 'Comment je supprime mon compte ?'),
    ('Hi! You can delete your account anytime from Settings > Privacy. Let us know if you need a hand.', 'How do I delete my account?'),
    ("To remove a saved card, open Wallet and tap Remove. Happy to help if it doesn't work!", 'How do I remove my card from the app?'),
    ('Vous pouvez retirer votre commande en magasin dès demain 10h.', 'Je peux récupérer ma commande quand ?'),
    ("Nous avons supprimé les frais de livraison sur votre commande, désolés pour l'attente !", 'Livraison en retard'),
    ("We've removed the duplicate charge and we're sorry for the hassle.", 'You charged me twice'),
    ("Bravo à toute l'équipe pour ce lancement, et merci à vous pour vos messages !", None),
    ("Hello Marc ! Tu as tout à fait raison, on corrige ça dès aujourd'hui. Merci 🙏", 'Votre site affiche le mauvais prix'),
    ('Nos pensées vont aux victimes des inondations. Nos équipes sur place accueillent gratuitement ceux qui en ont besoin.', None),
    ('Sorry for the wait! Our team is checking your ticket #4821 now and will reply within 2 hours.', 'Still no answer to my ticket'),
    ('Thanks for your patience, Dana — your replacement ships today with express delivery.', 'Where is my replacement??'),
    ('Absolutely, and thank you for asking! Our vegan range is labelled with a green leaf in store.', 'Do you have vegan options?'),
    ("C'est noté, merci ! Nous transmettons votre idée à l'équipe produit.", 'Vous devriez vendre des gourdes'),
    ('Merci pour votre signalement : la vidéo frauduleuse utilisant notre logo a été signalée à la plateforme.', 'Attention, un faux compte utilise votre logo'),
    ("Hi Sarah, thanks for flagging — we've passed this to our delivery partner and a new parcel is on its way. Sorry for the hassle!", 'Parcel left in the rain, everything soaked'),
    ('We get it, nobody likes a delayed train. The 17:42 was held by a signalling fault at Reading; trains are running normally again now.', 'Delayed AGAIN'),
    ("Appreciate you sharing this, Tom. We don't want anyone to feel unwelcome in our stores — we're speaking with the team today.", 'Felt judged by your staff for my tattoos'),
    ("Ha, we'll take that as a compliment 😄 See you at the next drop!", 'Your merch sells out faster than concert tickets'),
    ('Not our finest moment — sorry! The bug is fixed in version 4.2.1, rolling out now.', 'Your update broke dark mode'),
    ('Great question! Yes, all our packaging is recyclable; details here: https://example.com/packaging', 'Is your packaging recyclable?'),
    ("Hello ! Désolés pour l'attente au téléphone. Vous pouvez aussi nous écrire ici en MP, on vous répond dans l'heure.", "1h d'attente au service client..."),
    ("Merci Sophie 😍 On transmet tes compliments à l'équipe de Bordeaux !", 'Accueil au top dans votre boutique de Bordeaux'),
    ('Oups, toutes nos excuses ! Le lien est corrigé : https://exemple.fr/soldes', 'Votre lien ne marche pas'),
    ("Vous avez tout à fait raison, cette photo n'aurait pas dû être publiée. Nous l'avons retirée et nous vous présentons nos excuses.", 'Votre pub avec ce mannequin est choquante'),
    ("On comprend ta frustration. Le retard vient d'une rupture chez notre fournisseur ; ta commande part jeudi, promis on te tient au courant.", 'Ma commande est en retard'),
    ('Bienvenue dans la communauté, Inès ! 🎉', 'Première commande passée, hâte !'),
    ("We've looked into it and we're so sorry — you're right, you should never have been charged. The refund of £12.99 is on its way today.", 'Charged for a cancelled order'),
    ('Thank you for your patience! Your order #88231 has been dispatched and should arrive tomorrow.', 'Where is my order #88231?'),
    ("Bonjour, nous sommes sincèrement désolés pour cette expérience. Un conseiller va vous appeler aujourd'hui pour trouver une solution.", 'Accueil catastrophique dans votre agence'),
    ("Yikes, that's not great! So sorry, Lee — we've flagged it to the kitchen and sent you a voucher by DM.", 'Found a hair in my burger'),
    ("Oh no! That's definitely not how it should look. Could you DM us your order number so we can sort a refund?", 'My cake was squashed'),
    ("We've escalated this to our safety team and they'll contact you within 24 hours. We're really sorry you went through this.", 'The escalator in your store nearly hurt my kid'),
    ("Merci pour votre vigilance 🙏 L'équipe du magasin a retiré le produit du rayon ce matin.", 'Produit périmé en rayon !'),
    ("Bonjour Nadia, c'est inadmissible et nous vous présentons nos excuses. Nous avons ouvert une enquête interne.", "Un agent de sécurité m'a suivie dans tout le magasin"),
    ("DM us your order number and we'll sort it 👍", "Where's my order?"),
    ('Envoie-nous ton numéro de commande en MP, on regarde ça 👀', 'Elle est où ma commande ?'),
    ("We're aware of the outage and our engineers are on it. Updates every 30 minutes here: https://status.example.com", 'Is your site down?'),
    ('Oui, notre site rencontre un incident : nos équipes sont mobilisées. Suivi en direct ici : https://statut.exemple.fr', 'Votre site est en panne ?'),
    ("Thanks for the lovely review, Jo! We'll pass it on to Tom, who'll be thrilled.", 'Tom at the Bath store was amazing'),
    ('Bon courage à tous les sinistrés. Nos magasins de la région collectent des dons toute la semaine.', None),
    ('Black Friday is here! Up to 50% off everything 🔥', None),
    ('Fire sale this weekend: 40% off all winter coats!', None),
    ('Our new flavour is taking the city by storm — try it at 20% off this week!', None),
    ("The price war is on: our deals beat everyone's 💥", None),
    ('Meet us at the food court, level 2! Free samples all day.', None),
    ('Our legal notice is here: https://example.com/legal', 'Where can I find your terms?'),
    ("We've reported the issue to our payment provider and will update you by 5pm.", 'Payment failed twice'),
    ('Tempête de promos cette semaine : -30 % sur tout le rayon ski ❄️', None),
    ("C'est la guerre des prix : nos offres sont imbattables !", None),
    ('Nos mentions légales sont ici : https://exemple.fr/mentions-legales', 'Où sont vos CGV ?'),
    ("La police de caractères de notre appli a changé, dites-nous si c'est plus lisible !", None),
    ('Killer deals this weekend only!', None),
    ('Ces prix vont vous tuer 😱 -50 % sur tout !', None),
    ('You can block unwanted notifications in Settings > Alerts.', 'How do I stop the notifications?'),
    ('Le blocage de votre carte est levé, vous pouvez payer à nouveau.', 'Ma carte est bloquée'),
    ("We've hidden the old menu items so the app is easier to browse.", None),
    ('These prices are ridiculously low — grab them while they last!', None),
    ('Our clown show for kids is back every Saturday at 3pm 🎈', 'Any activities for kids?'),
    ("You'll find your order number in the confirmation email we sent you.", 'Where do I find my order number?'),
    ("Vous trouverez votre numéro de commande dans l'e-mail de confirmation.", 'Où trouver mon numéro de commande ?'),
    ("You can read the terms here: https://example.com/terms — happy to help if anything's unclear.", 'Where are your terms?'),
    ('Nul besoin de créer un compte : la commande invité fonctionne très bien !', 'Faut-il un compte pour commander ?'),
    ('Des prix ridicules cette semaine sur tout le rayon jardin 🌱', None),
    ('Match nul hier soir, mais quelle ambiance ! Merci à tous les supporters 💙', None),
    ("Please keep your receipt: you'll need your booking reference at check-in.", 'Do I need anything at check-in?'),
    ('Pour votre sécurité, ne partagez jamais votre mot de passe, même avec nous.', None),
    ('Never share your password with anyone, including us.', None),
    ("We'll never ask for your card details by DM. Stay safe!", None),
    ('Bonne nouvelle : le remboursement de votre commande a été effectué ce matin.', 'Toujours pas remboursé'),
    ("If you'd like to delete your data, here's how: https://example.com/privacy", 'How do I delete my data?'),
    ('Happy to help! Could you tell us which store you visited?', 'Your store had no stock'),
]

# (draft, customer's message, expected verdict, categories that must be raised)
RISKY = [
 ("Bonjour, pourriez-vous supprimer votre publication ? Nous traitons votre dossier en privé.", "Votre livreur a jeté mon colis par-dessus le portail !", "block", {"deletion_demand"}),
 ("Merci d'effacer ce tweet, il nuit à notre image.", "Vos bus ne passent jamais à l'heure.", "block", {"deletion_demand"}),
 ("Can you please remove those pics? We'll sort it out via DM.", "Look at the mould in your hotel room", "block", {"deletion_demand"}),
 ("On supprime les messages insultants, c'est la règle de la page.", "Vous êtes des voleurs", "block", {"censorship"}),
 ("Any further comments like this will be removed and your account blocked.", "Your product is trash", "block", {"censorship"}),
 ("Apprenez à lire avant de nous accuser.", "Vous m'avez facturé deux fois !", "block", {"condescension"}),
 ("Maybe try reading the FAQ before tweeting at us?", "How do I reset my password??", "block", {"condescension"}),
 ("Nous avons transmis votre message à notre avocat.", "Vous vendez des contrefaçons", "block", {"legal_threat"}),
 ("Keep spreading lies and you'll hear from our legal team.", "This brand lies about its ingredients", "block", {"legal_threat"}),
 ("Black Friday : nos prix s'effondrent plus vite que les tours ! #11septembre", None, "block", {"sensitive_topic"}),
 ("Les femmes ne savent pas conduire, c'est bien connu.", "Votre pub est sexiste", "block", {"discrimination"}),
 ("MAIS ENFIN VOUS NE SAVEZ PAS LIRE ?", "Le colis n'est jamais arrivé", "block", {"aggressive_tone", "condescension"}),
 ("Pouvez-vous nous donner votre numéro de téléphone en commentaire ?", "J'attends toujours mon remboursement", "revise", {"personal_data"}),
 ("Please post your booking reference and email below so we can check.", "My flight got cancelled!", "revise", {"personal_data"}),
 ("Ce n'est pas de notre ressort, voyez avec La Poste.", "Mon colis est perdu depuis 10 jours", "revise", {"blame_shift", "no_acknowledgement"}),
 ("Merci pour votre message.", "Votre appli plante à chaque ouverture, inutilisable !", "revise", {"no_acknowledgement"}),
 ("Envoyez-nous un DM.", "Toujours pas remboursé après 3 semaines", "revise", {"private_redirect", "no_acknowledgement"}),
 ("Merci pour ton message, nous revenons vers vous très vite.", None, "revise", {"address_form"}),
 ("lol cope harder", "Your new update sucks", "block", {"insult"}),
 ("Nobody's forcing you to shop here.", "Prices went up again??", "block", {"insult"}),
 ("Vous êtes vraiment pénible.", "Ça fait 3 fois que j'appelle", "block", {"insult"}),
 ("Retirez votre avis et nous vous offrirons un bon d'achat.", "Service déplorable", "block", {"deletion_demand"}),
 ("Hi there, we don't recognise this account activity. Please DM us so we can take a closer look.", "Someone charged my card using your app!!", "revise", {"no_acknowledgement","private_redirect"}),
 ("Thanks for reaching out! Please send us a DM.", "Your staff were incredibly rude to me today", "block", {"no_acknowledgement","private_redirect"}),
 ("Please refrain from posting false information about our company.", "Your burgers gave me food poisoning", "block", {"censorship"}),
 ("Kindly take this post down, it's misleading.", "Your ad is misleading", "block", {"deletion_demand"}),
 ("Ever heard of reading the description? 🙄", "The size was wrong", "block", {"condescension"}),
 ("Imagine complaining about free shipping lmao", "Shipping took 3 weeks", "block", {"insult"}),
 ("This is a clear case of user error.", "Your app deleted all my photos", "revise", {"blame_shift","no_acknowledgement"}),
 ("Our couriers are independent contractors, so we're not responsible for their behaviour.", "Your courier kicked my parcel", "block", {"blame_shift"}),
 ("We'll be reporting this account for harassment.", "You guys are frauds", "block", {"censorship"}),
 ("Pray for Texas 🙏 And don't forget our flash sale ends tonight!", None, "block", {"sensitive_topic"}),
 ("SERIOUSLY? We told you three times already.", "Still no answer on my claim", "block", {"aggressive_tone"}),
 ("What's your home address and phone number? Reply below.", "My delivery never showed up", "revise", {"personal_data"}),
 ("Girls just don't get cars, it's fine.", "Your mechanic talked down to me", "block", {"discrimination"}),
 ("Touch grass.", "Your game is pay to win", "block", {"insult"}),
 ("Bonjour, merci de nous contacter via le formulaire sur notre site.", "Ça fait 2h que j'attends au téléphone, scandaleux", "revise", {"no_acknowledgement"}),
 ("Votre commentaire a été signalé et sera supprimé.", "Marque de voleurs", "block", {"censorship"}),
 ("Veuillez supprimer cette vidéo, elle porte atteinte à notre image.", "Regardez comment vos employés traitent les clients", "block", {"deletion_demand"}),
 ("Si vous ne savez pas utiliser l'appli, demandez à vos enfants.", "Votre nouvelle appli est incompréhensible", "block", {"condescension"}),
 ("Tu dis n'importe quoi, comme d'hab.", "Vos prix ont encore augmenté", "block", {"insult"}),
 ("Le problème vient de votre box, pas de notre réseau.", "Plus d'internet depuis 3 jours", "revise", {"blame_shift","no_acknowledgement"}),
 ("Nous allons porter plainte pour diffamation.", "Vos produits sont dangereux", "block", {"legal_threat"}),
 ("Canicule = glaces à -50% ! Profitez-en 🔥", None, "block", {"sensitive_topic"}),
 ("Les gens de banlieue, toujours les mêmes problèmes.", "Votre magasin de Bobigny est mal tenu", "block", {"discrimination"}),
 ("ON VOUS A DÉJÀ RÉPONDU EN MP !!!", "Toujours aucune réponse de votre part", "block", {"aggressive_tone"}),
 ("Donnez-nous votre adresse postale et votre numéro de client ici.", "Colis perdu", "revise", {"personal_data"}),
 ("Mdr t'as cru que c'était gratuit ?", "Pourquoi je dois payer la livraison ?", "block", {"insult"}),
    ("Si vous n'êtes pas content, allez voir ailleurs.", 'Service client injoignable', 'block', {'insult'}),
    ('Ok boomer.', 'Your new app is confusing for older people', 'block', {'insult'}),
    ("Les personnes âgées ont du mal avec la technologie, c'est normal.", 'Votre appli est incompréhensible', 'block', {'discrimination'}),
    ("Nous nous réservons le droit d'engager des poursuites.", 'Vos pratiques sont honteuses', 'block', {'legal_threat'}),
    ('RIP to the legend 🕊️ Use code RIP20 for 20% off his favourite sneakers.', None, 'block', {'sensitive_topic'}),
    ("Tell us your email address in the comments and we'll look into it.", 'My order was cancelled without notice', 'revise', {'personal_data'}),
    ('Merci de votre message ! Pouvez-vous nous communiquer votre numéro de téléphone en réponse à ce tweet ?', 'Mon forfait ne marche plus', 'revise', {'personal_data'}),
    ('Bonjour, ton colis est en route, vous le recevrez demain.', None, 'revise', {'address_form'}),
    ('Honestly, some customers just love to complain.', 'Your store was dirty', 'block', {'condescension'}),
    ('Nous avons masqué votre avis car il ne respecte pas nos règles.', 'Avis 1 étoile : produit cassé', 'block', {'censorship'}),
]


@pytest.mark.parametrize(("draft", "context"), SAFE)
def test_good_replies_are_posted(draft: str, context: str | None) -> None:
    review = review_offline(ReviewRequest(draft, context, "x"), rewrite=False)
    flagged = [(f.category, f.span.text if f.span else None) for f in review.findings if f.severity != "low"]
    assert review.verdict == "post", flagged


@pytest.mark.parametrize(("draft", "context", "verdict", "categories"), RISKY)
def test_risky_replies_are_caught(draft: str, context: str | None, verdict: str, categories: set[str]) -> None:
    review = review_offline(ReviewRequest(draft, context, "x"))
    found = {f.category for f in review.findings if f.severity != "low"}
    assert review.verdict == verdict, (found, review.verdict)
    assert categories <= found
    assert len(review.rewrites) >= 2


# (draft, customer's message, the least severe verdict acceptable)
HARSH = [
    ("We're not going to refund you just because you changed your mind.", 'I want a refund, the color looks different', 'revise'),
    ('Calm down.', 'Your support team hung up on me twice!', 'block'),
    ('Per our policy, we do not respond to complaints on social media.', 'Your staff stole my phone at the counter', 'block'),
    ('lol ok', 'Your product broke after 2 days', 'block'),
    ('Cry harder 😂', 'Worst pizza ever', 'block'),
    ("Calmez-vous, s'il vous plaît.", "Ça fait 3 semaines que j'attends mon remboursement !!", 'revise'),
    ('Nous ne répondons pas aux plaintes sur les réseaux sociaux.', "Votre livreur m'a insulté", 'block'),
    ("C'est votre problème, pas le nôtre.", 'Mon colis a été livré chez le voisin', 'revise'),
    ("Merci d'effacer vos commentaires négatifs.", 'Produit de mauvaise qualité', 'block'),
    ('Encore vous ?', 'Toujours pas de réponse à ma réclamation', 'block'),
    ("Sorry, but that's our policy.", 'You refused my return after 2 days??', 'revise'),
    ("Désolé, mais c'est la procédure.", "Vous refusez mon retour, c'est honteux", 'revise'),
    ('We apologize for any inconvenience this may have caused.', 'My wedding cake arrived smashed', 'revise'),
    ("Thanks for your feedback! We're always looking to improve. 😊", 'Your checkout page charged me 3 times', 'revise'),
    ('Hey, at least it arrived 🤷', 'My package came 2 weeks late', 'revise'),
    ('On ne peut pas plaire à tout le monde 🤷\u200d♂️', 'Votre nouvelle recette est immonde', 'revise'),
    ('Vous êtes le seul à vous plaindre.', "Le wifi de l'hôtel ne marche pas", 'revise'),
    ("You're the only one complaining.", "Hotel wifi doesn't work", 'revise'),
    ('Our records show the parcel was delivered. Please check with your neighbours.', 'I never got my parcel', 'revise'),
    ('Tu veux un mouchoir ? 😢', 'Votre jeu a encore planté', 'block'),
    ('Want a tissue? 😢', 'Your game crashed again', 'block'),
    ('Do better.', 'Your courier was rude', 'revise'),
    ('Not our problem, talk to the courier.', 'My parcel is lost', 'revise'),
    ('Read the FAQ.', 'How do I change my delivery address?', 'revise'),
    ('Lisez la FAQ.', 'Comment je change mon adresse de livraison ?', 'revise'),
    ("Vous êtes sûr d'avoir bien branché l'appareil ? 😅", 'Votre machine ne marche pas', 'revise'),
    ('Are you sure you plugged it in? 😅', "Your machine doesn't work", 'revise'),
    ('Nobody cares about your opinion.', "I don't like the new logo", 'block'),
    ('Personne ne vous force à acheter chez nous.', 'Vos prix sont trop chers', 'revise'),
    ("We can't help you if you keep shouting.", 'WHERE IS MY ORDER', 'revise'),
    ('Ça suffit maintenant.', 'Toujours pas de réponse !!!', 'revise'),
    ('Please reply with your card number and expiry date so we can process the refund.', 'Refund please', 'revise'),
    ('Merci de nous indiquer votre IBAN en commentaire pour le remboursement.', 'Je veux être remboursé', 'revise'),
    ('Tbh your review is fake.', '1 star, rude staff', 'block'),
    ("Votre avis est faux, vous n'êtes jamais venu chez nous.", 'Service horrible, 1 étoile', 'revise'),
    ('You must be new here 😏', 'Why is the app so slow?', 'revise'),
    ('Bienvenue dans le monde réel 😏', "Pourquoi c'est si cher ?", 'revise'),
    ('Bonjour, nous ne communiquons pas sur ce sujet.', 'Pourquoi vous avez licencié 200 personnes ?', 'revise'),
    ('No comment.', 'Why did you lay off 200 people?', 'revise'),
]


@pytest.mark.parametrize(("draft", "context", "at_least"), HARSH)
def test_dismissive_replies_are_never_posted(draft: str, context: str, at_least: str) -> None:
    review = review_offline(ReviewRequest(draft, context, "x"))
    order = {"post": 0, "revise": 1, "block": 2}
    assert order[review.verdict] >= order[at_least], [f.category for f in review.findings]
    assert len(review.rewrites) >= 2
