// Proactif citizen portal: offer notifications on this device (Web Push), as an extra channel.
// Progressive enhancement: the button stays hidden where the browser cannot do it.
(function () {
  const button = document.getElementById("activer-notifications");
  const status = document.getElementById("notifications-statut");
  if (!button || !("serviceWorker" in navigator) || !("PushManager" in window) || !("Notification" in window)) {
    return;
  }
  button.hidden = false;
  const decode = (text) => {
    const padded = (text + "=".repeat((4 - (text.length % 4)) % 4)).replace(/-/g, "+").replace(/_/g, "/");
    return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
  };
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      const key = (await (await fetch(button.dataset.key)).json()).publicKey;
      const registration = await navigator.serviceWorker.register(button.dataset.worker, {scope: button.dataset.scope});
      if ((await Notification.requestPermission()) !== "granted") {
        status.textContent = "Notifications non autorisées : vous recevrez nos messages par vos autres moyens de contact.";
        return;
      }
      const subscription = await registration.pushManager.subscribe({userVisibleOnly: true, applicationServerKey: decode(key)});
      const response = await fetch(button.dataset.subscribe, {
        method: "POST", credentials: "same-origin",
        headers: {"Content-Type": "application/json", "X-CSRFToken": button.dataset.csrf},
        body: JSON.stringify(subscription),
      });
      status.textContent = response.ok ? "Notifications activées sur cet appareil."
        : "L'activation n'a pas abouti : réessayez plus tard.";
    } catch (error) {
      status.textContent = "Ce navigateur ne permet pas d'activer les notifications.";
    } finally {
      button.disabled = false;
    }
  });
})();
