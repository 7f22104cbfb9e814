"""A tiny sign-up that proves the address before the account exists.

It is what a host site writes with :func:`start_email_verification` and
:func:`verified_email`, and what the view tests and the browser test drive.
"""

from __future__ import annotations

from django import forms
from django.contrib.auth import get_user_model, login
from django.contrib.auth.forms import UserCreationForm
from django.http import HttpResponse
from django.shortcuts import redirect
from django.template import engines
from django.urls import path, reverse

from django_securetokens.owners import validate_mailbox
from django_securetokens.sessions import start_email_verification, verified_email

PAGE = engines["django"].from_string(
    """<!DOCTYPE html><html><head><title>{{ title }}</title></head><body>
<h1>{{ title }}</h1>{% if form %}<form method="post">{% csrf_token %}{{ form.as_p }}
<button type="submit">Continue</button></form>{% endif %}{{ text }}</body></html>"""
)


class SignupEmailForm(forms.Form):
    email = forms.EmailField(validators=[validate_mailbox])


class SignupAccountForm(UserCreationForm):  # type: ignore[type-arg]
    class Meta(UserCreationForm.Meta):  # type: ignore[name-defined]
        model = get_user_model()
        fields = ("username",)


def page(request, title, form=None, text=""):
    return HttpResponse(PAGE.render({"title": title, "form": form, "text": text}, request))


def signup(request):
    """Step 1: the address. Its code and link go out; the code page takes over."""
    form = SignupEmailForm(request.POST or None)
    if form.is_valid():
        start_email_verification(
            request, form.cleaned_data["email"], next_url=reverse("signup_account")
        )
        return redirect("securetokens:email_verification_code")
    return page(request, "Sign up", form)


def signup_account(request):
    """Step 2, once the address is proven in this session: username and password."""
    email = verified_email(request)
    if email is None:
        return redirect("signup")
    form = SignupAccountForm(request.POST or None)
    if form.is_valid():
        user = form.save(commit=False)
        user.email = verified_email(request, pop=True)
        user.save()
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        return redirect("signup_done")
    return page(request, "Choose a username", form, f"Verified address: {email}")


def signup_done(request):
    user = request.user
    return page(request, "Welcome", text=f"{user.get_username()}: {user.email} is verified")


urlpatterns = [
    path("", signup, name="signup"),
    path("account/", signup_account, name="signup_account"),
    path("done/", signup_done, name="signup_done"),
]
