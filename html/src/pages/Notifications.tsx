export default function Notifications() {
  return <div className="page"><h1>Notifications</h1></div>;
}
