from django.urls import path

from proactif.messaging import views

app_name = "messaging"
urlpatterns = [
    path("", views.outbox, name="outbox"),
    path("<int:message_id>/", views.message, name="message"),
    path("modeles/", views.templates, name="templates"),
    path("modeles/nouveau/", views.template_edit, name="template_new"),
    path("modeles/<int:template_id>/", views.template_edit, name="template"),
    path("modeles/<int:template_id>/publier/", views.publish, name="publish"),
    path("modeles/<int:template_id>/apercu/", views.preview, name="preview"),
    path("modeles/compteur-sms/", views.sms_counter, name="sms_counter"),
    path("boite-de-test/", views.sink, name="sink"),
    path("courriers/<int:batch_id>.<str:kind>", views.letter_batch, name="letters"),
]
