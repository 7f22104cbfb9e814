"""Sign-up that proves the address first, and a profile page."""

from __future__ import annotations

from django import forms
from django.contrib.auth import get_user_model, login
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import UserCreationForm
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone

from django_securetokens.owners import validate_mailbox
from django_securetokens.sessions import start_email_verification, verified_email

from .models import VerifiedEmail, is_verified


class SignupEmailForm(forms.Form):
    email = forms.EmailField(label="Email address", validators=[validate_mailbox])


class SignupAccountForm(UserCreationForm):  # type: ignore[type-arg]
    class Meta(UserCreationForm.Meta):  # type: ignore[name-defined]
        model = get_user_model()
        fields = ("username",)


def signup(request: HttpRequest) -> HttpResponse:
    """Step 1: the address. A code and a link go out; the app's code page takes over."""
    form = SignupEmailForm(request.POST or None)
    if form.is_valid():
        start_email_verification(
            request, form.cleaned_data["email"], next_url=reverse("signup_account")
        )
        return redirect("securetokens:email_verification_code")
    return render(request, "accounts/signup.html", {"form": form})


def signup_account(request: HttpRequest) -> HttpResponse:
    """Step 2, once this browser proved the address: a username and a password."""
    email = verified_email(request)
    if email is None:
        return redirect("signup")
    form = SignupAccountForm(request.POST or None)
    if form.is_valid():
        with transaction.atomic():
            user = form.save(commit=False)
            user.email = email
            user.save()
            VerifiedEmail.objects.create(user=user, email=email, verified_at=timezone.now())
        verified_email(request, pop=True)  # the proof served this one account
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        return redirect("profile")
    return render(request, "accounts/signup_account.html", {"form": form, "email": email})


@login_required
def profile(request: HttpRequest) -> HttpResponse:
    return render(request, "accounts/profile.html", {"verified": is_verified(request.user)})
