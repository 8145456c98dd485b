export default function Approvals() {
  return <div className="page"><h1>Approvals</h1></div>;
}
