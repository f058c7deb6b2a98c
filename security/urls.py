"""Authentication routes under /api/v1/auth/."""

from django.urls import path

from security.views import LogoutView, ProtectedView, TokenObtainView, TokenRefreshView

app_name = "auth"

urlpatterns = [
    path("token", TokenObtainView.as_view(), name="token"),
    path("token/refresh", TokenRefreshView.as_view(), name="token_refresh"),
    path("logout", LogoutView.as_view(), name="logout"),
    path("protected", ProtectedView.as_view(), name="protected"),
]
